package doctor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
	. "github.com/appagent/appagent/agent/preflight"
	pt "github.com/appagent/appagent/agent/preflight/preflighttest"
	"github.com/appagent/appagent/agent/upgrade"
)

type fakeUnits struct {
	state  string
	load   map[string]string
	err    error
	failed []string
	status map[string]int32
	props  map[string]map[string]string
}

func (u fakeUnits) SystemState(context.Context) (string, error) { return u.state, u.err }
func (u fakeUnits) LoadState(_ context.Context, n string) (string, error) {
	if s, ok := u.load[n]; ok {
		return s, nil
	}
	return "loaded", nil
}
func (u fakeUnits) Failed(context.Context) ([]string, error) {
	if u.failed != nil {
		return u.failed, nil
	}
	return []string{"x.service"}, nil
}
func (u fakeUnits) ExitStatus(_ context.Context, unit string) (int32, error) {
	return u.status[unit], nil
}
func (u fakeUnits) Properties(_ context.Context, unit string, _ []string) (map[string]string, error) {
	return u.props[unit], nil
}

func TestDoctor(t *testing.T) {
	base := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true}, Avail: 50 << 30, Total: 100 << 30, Host: "wiki.example.org",
		Env: map[string]string{"FQDN": "wiki.example.org"}}
	cfg := pt.Config(false)
	cfg.Identity = "FQDN"
	cfg.Units = []config.Unit{{Name: "mariadb.service"}, {Name: "apache2.service"}}

	rs := Run(context.Background(), cfg, base.System(), Options{Units: fakeUnits{state: "running"}})
	want := map[string]Severity{"systemd": Pass, "units": Pass, "stop-signal": Info, "journal": Pass, "hostname": Pass,
		"volume-free": Pass, "volume-lock": Info}
	got := pt.Severities(rs)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q want %q\n%s", k, got[k], v, pt.Dump(rs))
		}
	}

	bad := base
	bad.Host = "abc123"
	bad.Avail = 1 << 20
	bad.Files = map[string]string{"/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"}
	for k, v := range base.Files {
		bad.Files[k] = v
	}
	rs = Run(context.Background(), cfg, bad.System(), Options{Units: fakeUnits{state: "degraded", load: map[string]string{"mariadb.service": "masked"}}})
	want = map[string]Severity{"systemd": Warn, "units": Fail, "journal": Warn, "hostname": Warn, "volume-free": Fail}
	got = pt.Severities(rs)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("bad %s: got %q want %q\n%s", k, got[k], v, pt.Dump(rs))
		}
	}
	for _, r := range rs {
		if r.Check == "units" && !strings.Contains(r.Fix, "container.mask") {
			t.Errorf("masked unit fix: %q", r.Fix)
		}
		if r.Check == "hostname" && !strings.Contains(r.Fix, "--hostname wiki.example.org") {
			t.Errorf("hostname fix: %q", r.Fix)
		}
	}

	rs = Run(context.Background(), cfg, base.System(), Options{UnitsErr: errors.New("dial unix /run/systemd/private: no such file")})
	if pt.Severities(rs)["systemd"] != Info || rs.Failed() {
		t.Errorf("doctor as the container's command (PID 1 is not systemd): systemd must be a note:\n%s", pt.Dump(rs))
	}
	running := base
	running.Files = map[string]string{"/proc/1/comm": "systemd\n"}
	for k, v := range base.Files {
		running.Files[k] = v
	}
	rs = Run(context.Background(), cfg, running.System(), Options{UnitsErr: errors.New("dial unix /run/systemd/private: permission denied")})
	if pt.Severities(rs)["systemd"] != Fail {
		t.Errorf("systemd runs but cannot be reached: must fail:\n%s", pt.Dump(rs))
	}
}

func TestLockHolders(t *testing.T) {
	locks := "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF\n2: POSIX  ADVISORY  WRITE 7 fe:00:99 0 EOF\n3: -> FLOCK  ADVISORY  WRITE 55 fe:00:1234 0 EOF\n"
	dev := uint64(0xfe<<8 | 0x00)
	got := LockHolders(locks, dev, 1234)
	if len(got) != 1 || got[0] != 4242 {
		t.Fatalf("got %v, want [4242]", got)
	}
	if got := LockHolders(locks, dev, 5); len(got) != 0 {
		t.Fatalf("got %v for another inode", got)
	}
}

func TestCheckLockReal(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/.appagent", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dir + "/.appagent/lock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := &config.Config{Volume: config.Volume{Path: dir}}
	want := Info // the test's PID 1 is not systemd: no container runs
	if pid1IsSystemd(Host(nil)) {
		want = Warn
	}
	if r := checkLock(cfg, Host(nil)); r.Severity != want {
		t.Errorf("unlocked: %+v, want %s", r, want)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if r := checkLock(cfg, Host(nil)); r.Severity != Pass || !strings.Contains(r.Message, "this container") {
		t.Errorf("locked by us: %+v", r)
	}
	f.Close()

	// Both locks as a container holds them; then the keeper is killed.
	keeper, err := upgrade.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := upgrade.AgentLock(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	if r := checkLock(cfg, Host(nil)); r.Severity != Pass || !strings.Contains(r.Message, "keeper pid") || !strings.Contains(r.Message, "agent pid") {
		t.Errorf("both held: %+v", r)
	}
	keeper.Close()
	if r := checkLock(cfg, Host(nil)); r.Severity != Warn || !strings.Contains(r.Message, "only the agent holds the volume") {
		t.Errorf("keeper gone: %+v", r)
	}
}

func TestCheckLockPlantedLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/.appagent", 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	f, err := os.Create(outside)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir+"/.appagent/lock"); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Volume: config.Volume{Path: dir}}
	r := checkLock(cfg, Host(nil))
	if r.Severity != Fail || !strings.Contains(r.Message, "is not a regular file") || !strings.Contains(r.Fix, "remove "+dir+"/.appagent/lock") {
		t.Errorf("planted link: %+v", r)
	}
}

func TestDoctorEveryProblemHasAFix(t *testing.T) {
	base := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": "", "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"},
		Dirs: map[string]bool{"/data": true}, Avail: 1 << 20, Total: 100 << 30, Host: "abc123",
		Env: map[string]string{"FQDN": "wiki.example.org"}}
	missing := base
	missing.Dirs = map[string]bool{}
	missing.FreeErr = &fs.PathError{Op: "statfs", Path: "/data", Err: fs.ErrNotExist}
	unreadable := base
	unreadable.FreeErr = &fs.PathError{Op: "statfs", Path: "/data", Err: fs.ErrPermission}
	cfg := pt.Config(false)
	cfg.Identity = "FQDN"
	cfg.Units = []config.Unit{{Name: "mariadb.service"}}
	for name, f := range map[string]pt.Fake{"bad": base, "no volume": missing, "statfs denied": unreadable} {
		for _, o := range []Options{
			{Units: fakeUnits{state: "degraded", load: map[string]string{"mariadb.service": "masked"}}},
			{UnitsErr: errors.New("dial unix /run/systemd/private: no such file")},
		} {
			for _, r := range Run(context.Background(), cfg, f.System(), o) {
				if (r.Severity == Warn || r.Severity == Fail) && r.Fix == "" {
					t.Errorf("%s: %s %s has no fix: %s", name, r.Severity, r.Check, r.Message)
				}
			}
		}
	}
}

func TestDoctorVolumeRecord(t *testing.T) {
	base := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true, "/data/.appagent": true}, Avail: 50 << 30, Total: 100 << 30}
	cfg := pt.Config(false)
	record := func(r Results) Result {
		for _, x := range r {
			if x.Check == "volume-record" {
				return x
			}
		}
		t.Fatalf("no volume-record check:\n%s", pt.Dump(r))
		return Result{}
	}
	ok := func() (string, error) { return "the volume is at this image's build B", nil }
	if r := record(Run(context.Background(), cfg, base.System(), Options{Units: fakeUnits{state: "running"}, Record: ok})); r.Severity != Pass || r.Message != "the volume is at this image's build B" {
		t.Errorf("sound: %+v", r)
	}
	damaged := func() (string, error) {
		return "", errors.New("the volume's record /data/.appagent/manifest.json is damaged")
	}
	r := record(Run(context.Background(), cfg, base.System(), Options{Units: fakeUnits{state: "running"}, Record: damaged}))
	if r.Severity != Fail || !strings.Contains(r.Message, "manifest.json is damaged") || r.Fix == "" {
		t.Errorf("damaged: %+v", r)
	}
	fresh := base
	fresh.Dirs = map[string]bool{"/data": true}
	if r := record(Run(context.Background(), cfg, fresh.System(), Options{Units: fakeUnits{state: "running"}, Record: damaged})); r.Severity != Info {
		t.Errorf("no state yet: %+v", r)
	}
}

func TestDoctorNamespaces(t *testing.T) {
	base := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true}, Avail: 50 << 30, Total: 100 << 30}
	cfg := pt.Config(false)
	cfg.Units = []config.Unit{{Name: "app.service"}, {Name: "web.service"}}
	find := func(rs Results) Result {
		for _, r := range rs {
			if r.Check == "namespaces" {
				return r
			}
		}
		t.Fatalf("no namespaces check:\n%s", pt.Dump(rs))
		return Result{}
	}
	run := func(ns error, u fakeUnits) Result {
		sys := base.System()
		sys.MountNamespace = func() error { return ns }
		return find(Run(context.Background(), cfg, sys, Options{Units: u}))
	}
	eperm := syscall.EPERM
	if r := run(nil, fakeUnits{state: "running"}); r.Severity != Pass {
		t.Errorf("namespaces available: %+v", r)
	}
	r := run(eperm, fakeUnits{state: "degraded", failed: []string{"x.service"}, status: map[string]int32{"x.service": 226},
		props: map[string]map[string]string{"x.service": {"DynamicUser": "yes", "PrivateTmp": "yes"}}})
	if r.Severity != Fail || !strings.Contains(r.Message, "x.service (DynamicUser=yes) failed with 226/NAMESPACE") || !strings.Contains(r.Fix, "SYS_ADMIN") {
		t.Errorf("a unit failed with 226: %+v", r)
	}
	r = run(eperm, fakeUnits{state: "running", failed: []string{}, props: map[string]map[string]string{"web.service": {"BindPaths": "set"}, "app.service": {"PrivateTmp": "yes"}}})
	if r.Severity != Warn || !strings.Contains(r.Message, "web.service (BindPaths=set)") || strings.Contains(r.Message, "app.service") {
		t.Errorf("a declared unit needs one: %+v", r)
	}
	if r := run(eperm, fakeUnits{state: "running", failed: []string{}}); r.Severity != Info || !strings.Contains(r.Message, "operation not permitted") {
		t.Errorf("no unit needs one: %+v", r)
	}
}

func FuzzLockHolders(f *testing.F) {
	f.Add("1: FLOCK  ADVISORY  WRITE 1 fe:00:1 0 EOF\n")
	f.Fuzz(func(t *testing.T, locks string) {
		_ = LockHolders(locks, 0xfe00, 1)
	})
}
