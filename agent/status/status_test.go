package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/appagent/appagent/internal/goldenfile"

	"github.com/appagent/appagent/agent/checks"
	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/params"
)

func intp(i int) *int { return &i }

var since = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	up := func(name string, essential bool) Unit {
		return Unit{Name: name, Essential: essential, LoadState: "loaded", ActiveState: "active", SubState: "running", Since: &since, Result: "success"}
	}
	with := func(u Unit, f func(*Unit)) Unit { f(&u); return u }
	cases := []struct {
		name   string
		st     Status
		want   State
		reason string
	}{
		{"systemd unreachable", Status{Error: "dial unix /run/systemd/private: no such file"}, Unknown, "cannot reach systemd"},
		{"ready", Status{SystemState: "running", Units: []Unit{up("appagent.service", true), up("db.service", true)}}, Ready, "all 2 units"},
		{"systemd starting", Status{SystemState: "starting", Units: []Unit{up("db.service", true)}}, Starting, "systemd is starting"},
		{"unit activating", Status{SystemState: "starting", Units: []Unit{with(up("db.service", true), func(u *Unit) { u.ActiveState = "activating"; u.SubState = "start" })}},
			Starting, "waiting for db.service (activating)"},
		{"hook running", Status{SystemState: "starting", Hooks: []Hook{{Name: "configure", Unit: "appagent-configure.service", State: "running"}}},
			Starting, "configure hook is running"},
		{"hook failed", Status{SystemState: "degraded", Hooks: []Hook{{Name: "configure", Unit: "appagent-configure.service", State: "failed", ExitStatus: intp(3)}}},
			Failed, "configure hook (appagent-configure.service) failed, exit status 3"},
		{"essential failed", Status{SystemState: "degraded", Units: []Unit{with(up("db.service", true), func(u *Unit) {
			u.ActiveState, u.SubState, u.Result, u.ExitStatus = "failed", "failed", "exit-code", intp(1)
		})}}, Failed, "essential unit db.service failed (exit-code, exit status 1)"},
		{"essential failed while stopping", Status{SystemState: "stopping", Units: []Unit{with(up("db.service", true), func(u *Unit) {
			u.ActiveState, u.Result = "failed", "signal"
		})}}, Failed, "essential unit db.service failed (signal)"},
		{"stopping", Status{SystemState: "stopping", Units: []Unit{up("db.service", true)}}, Stopping, "stopping"},
		{"checks pass", Status{SystemState: "running", Units: []Unit{up("db.service", true)},
			Checks: []checks.Result{{Name: "web", State: checks.Passing}}}, Ready, "the 1 unit is up and 1 check(s) pass"},
		{"a check pending", Status{SystemState: "running", Units: []Unit{up("db.service", true)},
			Checks: []checks.Result{{Name: "web", State: checks.Pending}}}, Starting, "waiting for the check(s) web to pass"},
		{"a check failing, degraded", Status{SystemState: "running", Units: []Unit{up("db.service", true)},
			Checks: []checks.Result{{Name: "web", State: checks.Failing, OnFail: "degraded", Output: "HTTP 500, want 200"}}}, Degraded, "check web is failing (HTTP 500, want 200)"},
		{"a check failing, failed", Status{SystemState: "running", Units: []Unit{up("db.service", true)},
			Checks: []checks.Result{{Name: "db", State: checks.Failing, OnFail: "failed", Output: "no answer within 5s"}}}, Failed, "check db is failing (no answer within 5s)"},
		{"checks wait for the hooks", Status{SystemState: "starting", Hooks: []Hook{{Name: "configure", Unit: "appagent-configure.service", State: "running"}},
			Checks: []checks.Result{{Name: "db", State: checks.Failing, OnFail: "failed"}}}, Starting, "configure hook is running"},
		{"skipped by its condition is not degraded", Status{SystemState: "running", Units: []Unit{up("db.service", true), with(up("sshd.service", false), func(u *Unit) {
			u.ActiveState, u.SubState, u.Result, u.Since = "inactive", "dead", "skipped", nil
		})}}, Ready, ""},
		{"non-essential failed", Status{SystemState: "degraded", Units: []Unit{up("db.service", true), with(up("cron.service", false), func(u *Unit) {
			u.ActiveState, u.Result = "failed", "exit-code"
		})}}, Degraded, "cron.service failed (exit-code)"},
		{"restart loop", Status{SystemState: "running", Units: []Unit{with(up("web.service", false), func(u *Unit) {
			u.ActiveState, u.SubState, u.Restarts = "activating", "auto-restart", 4
		})}}, Degraded, "web.service is restarting after a failure (4 restarts)"},
		{"masked essential", Status{SystemState: "running", Units: []Unit{with(up("db.service", true), func(u *Unit) { u.LoadState = "masked" })}},
			Failed, "essential unit db.service cannot start: it is masked"},
		{"never started", Status{SystemState: "running", Units: []Unit{with(up("db.service", false), func(u *Unit) {
			u.ActiveState, u.SubState, u.Since = "inactive", "dead", nil
		})}}, Degraded, "db.service was never started"},
		{"oneshot finished", Status{SystemState: "running", Units: []Unit{with(up("init-db.service", true), func(u *Unit) {
			u.ActiveState, u.SubState = "inactive", "dead"
		})}}, Ready, "the 1 unit is up"},
		{"other unit failed", Status{SystemState: "degraded", FailedUnits: []string{"systemd-resolved.service"}, Units: []Unit{up("db.service", true)}},
			Degraded, "outside the application failed: systemd-resolved.service"},
		{"maintenance", Status{SystemState: "maintenance"}, Failed, "maintenance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			Decide(&st)
			if st.State != tc.want || !strings.Contains(st.Reason, tc.reason) {
				t.Errorf("got %s %q, want %s containing %q", st.State, st.Reason, tc.want, tc.reason)
			}
			if st.ExitCode != int(tc.want.Code()) {
				t.Errorf("exit code %d, want %d", st.ExitCode, tc.want.Code())
			}
		})
	}
}

func TestCodes(t *testing.T) {
	want := map[State]exitcode.Code{Ready: 0, Starting: 20, Degraded: 21, Failed: 22, Stopping: 22, Unknown: 23}
	for s, c := range want {
		if s.Code() != c {
			t.Errorf("%s: code %d, want %d", s, s.Code(), c)
		}
	}
}

func TestHookState(t *testing.T) {
	cases := []struct {
		p    UnitProps
		want string
	}{
		{UnitProps{LoadState: "not-found", ActiveState: "inactive"}, "absent"},
		{UnitProps{LoadState: "loaded", ActiveState: "activating", SubState: "start"}, "running"},
		{UnitProps{LoadState: "loaded", ActiveState: "inactive", ConditionTimestamp: 1, ConditionResult: false, Result: "success"}, "skipped"},
		{UnitProps{LoadState: "loaded", ActiveState: "active", ConditionTimestamp: 1, ConditionResult: true, ActiveEnter: 5, Result: "success"}, "done"},
		{UnitProps{LoadState: "loaded", ActiveState: "inactive", ActiveEnter: 5, Result: "success", ConditionTimestamp: 1, ConditionResult: true}, "done"},
		{UnitProps{LoadState: "loaded", ActiveState: "failed", Result: "exit-code", ExecMainCode: 1, ExecMainStatus: 2}, "failed"},
		{UnitProps{LoadState: "loaded", ActiveState: "inactive"}, "pending"},
	}
	for _, tc := range cases {
		h := Hook{}
		hookState(&h, tc.p)
		if h.State != tc.want {
			t.Errorf("%+v: got %s want %s", tc.p, h.State, tc.want)
		}
	}
}

type fakeSystemd struct {
	state  string
	units  map[string]UnitProps
	failed []string
	err    error
}

func (f *fakeSystemd) SystemState(context.Context) (string, error) { return f.state, f.err }
func (f *fakeSystemd) Unit(_ context.Context, n string) (UnitProps, error) {
	if p, ok := f.units[n]; ok {
		return p, nil
	}
	return UnitProps{LoadState: "not-found", ActiveState: "inactive", SubState: "dead"}, nil
}
func (f *fakeSystemd) Units(ctx context.Context, names []string) ([]UnitProps, []error) {
	ps := make([]UnitProps, len(names))
	errs := make([]error, len(names))
	for i, n := range names {
		ps[i], errs[i] = f.Unit(ctx, n)
	}
	return ps, errs
}
func (f *fakeSystemd) Failed(context.Context) ([]string, error) { return f.failed, nil }
func (f *fakeSystemd) Properties(context.Context, string, []string) (map[string]string, error) {
	return nil, nil
}
func (f *fakeSystemd) Close() {}

// testWorld is a volume with an upgrade record and published parameters.
func testWorld(t *testing.T) (*config.Config, Paths) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "data")
	files := map[string]string{
		"data/.appagent/format":   "1\n",
		"data/.appagent/build-id": "20261120T100000Z-aaaa\n",
		"data/.appagent/backup/20261101T000000Z-1-to-1-old/plan.json": `[{"path":"etc/old.conf","Action":"keep+new"}]`,
		"data/.appagent/backup/20261125T140000Z-1-to-1-bbbb/plan.json": `[{"path":"etc/app/app.conf","Action":"keep+new"},` +
			`{"path":"etc/app/merged.conf","Action":"keep+new"},{"path":"etc/app/x","Action":"move-aside"},{"path":"etc/app/y","Action":"replace"}]`,
		"data/etc/app/app.conf.appagent-new": "new",
		"data/etc/app/x.appagent-old":        "old",
		"data/etc/old.conf.appagent-new":     "an older upgrade's, still not reviewed",
		"image-build-id":                     "20261125T140000Z-bbbb\n",
		"params-status.json": `[{"name":"SITE_NAME","source":"default","set":true,"secret":false,"value":"My wiki"},` +
			`{"name":"ADMIN_PASSWORD","source":"env","set":true,"secret":true,"value":"must not show"},` +
			`{"name":"SMTP_HOST","source":"unset","set":false,"secret":false}]`,
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{Volume: config.Volume{Path: vol, Format: 1},
		Units: []config.Unit{{Name: "mariadb.service", Essential: true}, {Name: "apache2.service", Essential: true}, {Name: "cron.service"}},
		Hooks: config.Hooks{Configure: &config.Hook{Command: "/x"}, Upgrade: &config.Hook{Command: "/y"}}}
	return cfg, Paths{ParamsStatus: filepath.Join(dir, "params-status.json"), ImageBuildID: filepath.Join(dir, "image-build-id")}
}

func TestCollectGolden(t *testing.T) {
	cfg, paths := testWorld(t)
	us := func(d time.Duration) uint64 { return uint64(since.Add(d).UnixMicro()) }
	sd := &fakeSystemd{state: "degraded", failed: []string{"cron.service"}, units: map[string]UnitProps{
		"appagent.service": {LoadState: "loaded", ActiveState: "active", SubState: "running", StateChange: us(0), ActiveEnter: us(0), Result: "success", IsService: true},
		"mariadb.service":  {LoadState: "loaded", ActiveState: "active", SubState: "running", StateChange: us(2 * time.Second), Result: "success", IsService: true},
		"apache2.service":  {LoadState: "loaded", ActiveState: "active", SubState: "running", StateChange: us(3 * time.Second), NRestarts: 2, Result: "success", IsService: true},
		"cron.service": {LoadState: "loaded", ActiveState: "failed", SubState: "failed", StateChange: us(time.Minute), Result: "exit-code",
			ExecMainCode: 1, ExecMainStatus: 127, IsService: true},
		"appagent-configure.service": {LoadState: "loaded", ActiveState: "inactive", SubState: "dead", StateChange: us(time.Second),
			ConditionTimestamp: us(time.Second), ConditionResult: false, Result: "success", IsService: true},
		"appagent-upgrade.service": {LoadState: "loaded", ActiveState: "active", SubState: "exited", StateChange: us(time.Second),
			ActiveEnter: us(time.Second), ConditionTimestamp: us(time.Second), ConditionResult: true, Result: "success", IsService: true},
	}}
	st := Collect(context.Background(), Options{Config: cfg, Systemd: sd, Paths: paths, Now: func() time.Time { return since.Add(time.Hour) }})
	st.Volume.Path = "/data"
	for i, r := range st.Volume.Review {
		st.Volume.Review[i] = "/data" + strings.SplitN(r, "/data", 2)[1]
	}
	if st.State != Degraded || st.ExitCode != 21 {
		t.Errorf("state %s (%d): %s", st.State, st.ExitCode, st.Reason)
	}
	if want := []string{"/data/etc/app/app.conf.appagent-new", "/data/etc/app/x.appagent-old", "/data/etc/old.conf.appagent-new"}; !reflect.DeepEqual(st.Volume.Review, want) {
		t.Errorf("review %v, want %v", st.Volume.Review, want)
	}
	js, _ := json.MarshalIndent(st, "", "  ")
	if bytes.Contains(js, []byte("must not show")) {
		t.Fatal("a secret value reached the status")
	}
	goldenfile.Check(t, "status.json", append(js, '\n'))
	var table bytes.Buffer
	st.WriteTable(&table)
	goldenfile.Check(t, "status.txt", table.Bytes())
}

func TestCollectUnreachable(t *testing.T) {
	cfg, paths := testWorld(t)
	st := Collect(context.Background(), Options{Config: cfg, DialErr: errors.New("dial unix /run/systemd/private: connect: no such file or directory"), Paths: paths})
	if st.State != Unknown || st.ExitCode != int(exitcode.NotAvailable) || !strings.Contains(st.Reason, "no such file") {
		t.Errorf("%+v", st)
	}
	if st.Volume.Format == nil || *st.Volume.Format != 1 {
		t.Errorf("the volume facts must still be read: %+v", st.Volume)
	}
}

func TestMissingFilesAreUnknown(t *testing.T) {
	cfg := &config.Config{Volume: config.Volume{Path: filepath.Join(t.TempDir(), "nothing"), Format: 1}}
	st := Collect(context.Background(), Options{Config: cfg, Systemd: &fakeSystemd{state: "running", units: map[string]UnitProps{
		"appagent.service": {LoadState: "loaded", ActiveState: "active", StateChange: 1}}},
		Paths: Paths{ParamsStatus: "/nonexistent/p.json", ImageBuildID: "/nonexistent/b"}})
	if st.State != Ready || st.Volume.Format != nil || st.Volume.BuildID != "" || st.Parameters != nil || !st.Volume.ReviewKnown {
		t.Errorf("%+v %+v", st, st.Volume)
	}
}

// The object paths status reads units at: go-systemd's escaping must be systemd's
// (sd_bus_path_encode), a digit first included, or a unit would read as not found.
func TestUnitPath(t *testing.T) {
	for name, want := range map[string]string{
		"appagent.service":         "/org/freedesktop/systemd1/unit/appagent_2eservice",
		"apache2.service":          "/org/freedesktop/systemd1/unit/apache2_2eservice",
		"systemd-journald.service": "/org/freedesktop/systemd1/unit/systemd_2djournald_2eservice",
		"2fa@x.service":            "/org/freedesktop/systemd1/unit/_32fa_40x_2eservice",
		"":                         "/org/freedesktop/systemd1/unit/_",
	} {
		if got := "/org/freedesktop/systemd1/unit/" + sddbus.PathBusEscape(name); got != want {
			t.Errorf("%q: got %s want %s", name, got, want)
		}
	}
}

func TestWait(t *testing.T) {
	n := 0
	st := Wait(context.Background(), time.Millisecond, func() *Status {
		n++
		if n < 3 {
			return &Status{State: Starting}
		}
		return &Status{State: Ready}
	})
	if st.State != Ready || n != 3 {
		t.Errorf("state %s after %d polls", st.State, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if st := Wait(ctx, time.Millisecond, func() *Status { return &Status{State: Starting} }); st.State != Starting {
		t.Errorf("timeout: %s", st.State)
	}
}

// TestDocsListEveryField keeps docs/status.md in step with the JSON: every json key of the
// status document must appear there in backquotes.
func TestDocsListEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/status.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []reflect.Type{reflect.TypeOf(Status{}), reflect.TypeOf(Unit{}), reflect.TypeOf(Hook{}), reflect.TypeOf(Volume{}), reflect.TypeOf(Parameter{}), reflect.TypeOf(checks.Result{})} {
		for i := 0; i < typ.NumField(); i++ {
			name := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			if !regexp.MustCompile("`" + regexp.QuoteMeta(name) + "`").Match(doc) {
				t.Errorf("docs/status.md does not document %s.%s (`%s`)", typ.Name(), typ.Field(i).Name, name)
			}
		}
	}
}

// Every source a parameter's value can have is named in docs/status.md, as params writes it.
func TestDocsListEveryParameterSource(t *testing.T) {
	doc, err := os.ReadFile("../../docs/status.md")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "| `source` |") {
			line = l
		}
	}
	for _, s := range []params.Source{params.FromEnv, params.FromEnvFile, params.FromSecret, params.FromStored, params.FromDefault, params.Unset} {
		if !strings.Contains(line, "`"+string(s)+"`") {
			t.Errorf("docs/status.md's source row does not name %q: %s", s, line)
		}
	}
}

func TestFillUnitConditionSkipped(t *testing.T) {
	for _, p := range []UnitProps{
		{LoadState: "loaded", ActiveState: "inactive", ConditionTimestamp: 1, ConditionResult: false, Result: "success", IsService: true},
		{LoadState: "loaded", ActiveState: "inactive", Result: "exec-condition", ExecMainCode: 1, ExecMainStatus: 1, IsService: true},
	} {
		var u Unit
		fillUnit(&u, p)
		if u.Result != "skipped" || u.ExitStatus != nil {
			t.Errorf("%+v -> result %q exit %v, want skipped without exit status", p, u.Result, u.ExitStatus)
		}
	}
}
