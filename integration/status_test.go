package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/status"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// statusConfig: an essential unit, a non-essential one, and a configure hook that waits for
// the test to open a gate, so "starting" can be observed for as long as the test needs.
const statusConfig = `volume:
  path: /data
units:
  - name: app.service
    essential: true
  - side.service
hooks:
  configure: /usr/local/bin/gate
`

const gateScript = `#!/bin/sh
i=0
while [ ! -e /run/gate ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done
echo "gate open"
`

const sleeperUnit = `[Unit]
Description=%s

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`

// recorderUnit runs `appagent status` while systemd stops the container (it is stopped
// before app.service and the agent), so the state during an essential failure's shutdown is
// seen even though the container is gone right after.
const recorderUnit = `[Unit]
Description=record appagent status at shutdown
After=app.service appagent.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh -c '/usr/bin/appagent status --json > /data/status-at-stop.json; echo $? > /data/status-at-stop.code'

[Install]
WantedBy=multi-user.target
`

var statusSetup = enableUnits("app.service", "side.service", "recorder.service")

func statusFiles() map[string]string {
	return map[string]string{
		"/etc/appagent/appagent.yaml":          statusConfig,
		"/usr/local/bin/gate":                  gateScript,
		"/etc/systemd/system/app.service":      strings.Replace(sleeperUnit, "%s", "essential test app", 1),
		"/etc/systemd/system/side.service":     strings.Replace(sleeperUnit, "%s", "non-essential test app", 1),
		"/etc/systemd/system/recorder.service": recorderUnit,
	}
}

// documentedKeys reads the JSON keys docs/status.md documents, per object: the first column
// of the table after "## The JSON document" (status) and after "Each of `units`:" and the
// like. The docs are the contract; this test holds the output to them.
func documentedKeys(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../docs/status.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := []struct{ marker, what string }{
		{"## The JSON document", "status"}, {"Each of `units`", "unit"}, {"Each of `checks`", "check"},
		{"Each of `hooks`", "hook"}, {"`volume`:", "volume"}, {"Each of `parameters`", "parameter"},
	}
	keys := map[string][]string{}
	cur := ""
	inTable := false
	for _, line := range strings.Split(string(data), "\n") {
		for _, s := range sections {
			if strings.HasPrefix(line, s.marker) {
				cur, inTable = s.what, false
			}
		}
		if cur == "" {
			continue
		}
		if strings.HasPrefix(line, "| `") {
			inTable = true
			k := strings.TrimPrefix(line, "| `")
			k = k[:strings.Index(k, "`")]
			keys[cur] = append(keys[cur], k)
		} else if inTable && !strings.HasPrefix(line, "|") {
			cur, inTable = "", false
		}
	}
	for _, s := range sections {
		if len(keys[s.what]) == 0 {
			t.Fatalf("docs/status.md: no table of %s keys after %q", s.what, s.marker)
		}
	}
	return keys
}

// checkShape validates a status document against its documented shape: the documented keys
// are all there (optional ones aside), no undocumented key appears, and it decodes strictly.
func checkShape(t *testing.T, data []byte) *status.Status {
	t.Helper()
	optional := map[string]bool{"error": true, "problem": true, "value": true, "check.unit": true}
	documented := documentedKeys(t)
	check := func(what string, obj map[string]any) {
		want := map[string]bool{}
		for _, k := range documented[what] {
			want[k] = true
			if _, ok := obj[k]; !ok && !optional[k] && !optional[what+"."+k] {
				t.Errorf("%s: documented key %q missing", what, k)
			}
		}
		for k := range obj {
			if !want[k] && !optional[k] {
				t.Errorf("%s: undocumented key %q", what, k)
			}
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, data)
	}
	check("status", raw)
	for _, u := range raw["units"].([]any) {
		check("unit", u.(map[string]any))
	}
	for _, h := range raw["hooks"].([]any) {
		check("hook", h.(map[string]any))
	}
	for _, c := range raw["checks"].([]any) {
		check("check", c.(map[string]any))
	}
	check("volume", raw["volume"].(map[string]any))
	if ps, ok := raw["parameters"].([]any); ok {
		for _, p := range ps {
			check("parameter", p.(map[string]any))
		}
	}
	var st status.Status
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("status --json does not decode strictly: %v", err)
	}
	if st.Schema != status.SchemaVersion || st.ExitCode != int(st.State.Code()) {
		t.Errorf("schema %d exit_code %d for state %s", st.Schema, st.ExitCode, st.State)
	}
	return &st
}

func statusJSON(t *testing.T, c execer, args ...string) (*status.Status, int) {
	t.Helper()
	out, errs, code, err := c.Exec(append([]string{"/usr/bin/appagent", "status", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("appagent status: %v\n%s", err, errs)
	}
	return checkShape(t, []byte(out)), code
}

func unitOf(st *status.Status, name string) status.Unit {
	for _, u := range st.Units {
		if u.Name == name {
			return u
		}
	}
	return status.Unit{}
}

func TestStatusStatesNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{Files: statusFiles(), Setup: statusSetup, Prepare: true})

	// starting: the configure hook waits for the gate. Before systemd answers, status says
	// unknown (23); from then on starting (20), until the hook runs and is named.
	var st *status.Status
	var code int
	seen := map[int]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, code = statusJSON(t, c)
		seen[code] = true
		if code != 23 && code != 20 {
			t.Fatalf("while starting: state %s (exit %d, %s), want unknown (23) or starting (20)", st.State, code, st.Reason)
		}
		if strings.Contains(st.Reason, "configure hook is running") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 20 || st.State != status.Starting {
		t.Fatalf("with the configure hook waiting: state %s (exit %d, %s), want starting (20) naming the hook", st.State, code, st.Reason)
	}
	if h := st.Hooks; len(h) != 1 || h[0].State != "running" {
		t.Errorf("hooks while the configure hook waits: %+v", h)
	}
	t.Logf("exit codes seen while starting: %v; last: %s", seen, st.Reason)

	// ready: open the gate; --wait returns when the hook is done and the units are up.
	c.MustExec("touch", "/run/gate")
	st, code = statusJSON(t, c, "--wait=60s")
	if code != 0 || st.State != status.Ready {
		t.Fatalf("after the hook: state %s (exit %d, %s), want ready (0)", st.State, code, st.Reason)
	}
	if u := unitOf(st, "app.service"); u.ActiveState != "active" || !u.Essential || u.Since == nil {
		t.Errorf("app.service: %+v", u)
	}
	if len(st.Hooks) != 1 || st.Hooks[0].State != "done" {
		t.Errorf("hooks: %+v, want configure done", st.Hooks)
	}
	if st.Volume.ImageBuildID == "" {
		t.Errorf("the image's build id is unknown: %+v", st.Volume)
	}
	table, _, code, _ := c.Exec("/usr/bin/appagent", "status")
	if code != 0 || !strings.Contains(table, "STATE    ready") || !strings.Contains(table, "app.service *") {
		t.Errorf("table (exit %d):\n%s", code, table)
	}

	// degraded: the non-essential unit dies.
	c.MustExec("systemctl", "kill", "--signal=SIGKILL", "side.service")
	deadline = time.Now().Add(20 * time.Second)
	for {
		st, code = statusJSON(t, c)
		if code != 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != 21 || st.State != status.Degraded || !strings.Contains(st.Reason, "side.service") {
		t.Fatalf("after side.service was killed: state %s (exit %d, %s), want degraded (21) naming side.service", st.State, code, st.Reason)
	}
	if u := unitOf(st, "side.service"); u.ActiveState != "failed" || u.Result != "signal" || u.ExitStatus == nil || *u.ExitStatus != 9 {
		t.Errorf("side.service: %+v (exit status %v)", u, u.ExitStatus)
	}

	// failed: the essential unit dies; the container stops, and the recorder unit saw the state.
	c.MustExec("systemctl", "kill", "--signal=SIGKILL", "app.service")
	exit, err := c.Wait(60 * time.Second)
	if err != nil {
		t.Fatalf("the container did not stop after its essential unit failed: %v", err)
	}
	t.Logf("container exit code %d", exit)
	data, err := os.ReadFile(filepath.Join(c.Volume(), "status-at-stop.code"))
	if err != nil {
		t.Fatalf("the recorder unit did not run at shutdown: %v", err)
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(string(data))); got != 22 {
		t.Errorf("status exit code during the essential failure's shutdown = %d, want 22", got)
	}
	doc, _ := os.ReadFile(filepath.Join(c.Volume(), "status-at-stop.json"))
	st = checkShape(t, doc)
	if st.State != status.Failed || !strings.Contains(st.Reason, "app.service") {
		t.Errorf("state at shutdown %s (%s), want failed naming app.service", st.State, st.Reason)
	}
}

func TestStatusPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: bootContainerfile,
		Files:         map[string]string{"appagent.yaml": minimalConfig},
	})
	c := podman.Run(t, img, podman.RunOptions{})
	st, code := statusJSON(t, c, "--wait=60s")
	if code != 0 || st.State != status.Ready {
		t.Fatalf("state %s (exit %d, %s), want ready", st.State, code, st.Reason)
	}
	out, _, code, _ := c.Exec("/usr/bin/appagent", "doctor")
	t.Logf("appagent doctor under podman --systemd=always:\n%s", out)
	if code != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("doctor under podman --systemd=always (exit %d):\n%s", code, out)
	}
	for _, want := range []string{"PASS  run-tmpfs", "PASS  cgroup", "PASS  volume-mount", "PASS  volume-writable", "PASS  systemd"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{Files: map[string]string{"/etc/appagent/appagent.yaml": minimalConfig}, Prepare: true})
	if _, code := statusJSON(t, c, "--wait=60s"); code != 0 {
		t.Fatalf("status --wait: exit %d", code)
	}
	out, _, code, err := c.Exec("/usr/bin/appagent", "doctor", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Checks []struct{ Check, Severity, Message, Fix string }
		Failed bool
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	got := map[string]string{}
	var names []string
	for _, ch := range doc.Checks {
		got[ch.Check] = ch.Severity
		names = append(names, ch.Check)
		if ch.Severity == "fail" {
			t.Errorf("doctor in a healthy container: %s failed: %s (fix: %s)", ch.Check, ch.Message, ch.Fix)
		}
	}
	sort.Strings(names)
	want := []string{"api-mounts", "cgroup", "hostname", "journal", "namespaces", "run-tmpfs", "stop-signal", "systemd", "units", "volume-free", "volume-lock", "volume-mount", "volume-record", "volume-writable"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("checks %v, want %v", names, want)
	}
	if code != 0 || doc.Failed {
		t.Errorf("doctor exit %d, failed=%v", code, doc.Failed)
	}
}

// handDBus is appagent built with the D-Bus client status had before go-systemd's
// (agent/status/systemd_handdbus.go): BenchmarkStatusNspawn's second baseline.
const (
	handDBusTag  = "appagent_handdbus"
	handDBusPath = "/usr/local/bin/appagent-handdbus"
)

// BenchmarkStatusNspawn measures `appagent status` in a booted container, the command a probe
// runs every few seconds, against `systemctl is-system-running` run the same way (nsenter
// into the container), the cheapest probe there is: x_systemctl is status's cost relative to
// it. Inside the container it also runs the build with the hand-written D-Bus client that
// go-systemd's replaced: x_handdbus is today's status against that code, in the same run.
func BenchmarkStatusNspawn(b *testing.B) {
	nspawn.Require(b)
	c := nspawn.Boot(b, nspawn.Options{Files: statusFiles(), Setup: statusSetup, Prepare: true,
		ExtraArgs: []string{"--bind-ro=" + nspawn.TaggedBinary(b, handDBusTag) + ":" + handDBusPath}})
	c.MustExec("touch", "/run/gate") // let the configure hook finish
	if _, _, code, _ := c.Exec("/usr/bin/appagent", "status", "--wait=60s"); code != 0 {
		b.Fatalf("not ready: exit %d", code)
	}
	run := func(args ...string) time.Duration {
		start := time.Now()
		if _, errs, _, err := c.Exec(args...); err != nil {
			b.Fatalf("%v: %v %s", args, err, errs)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	var status, base time.Duration
	for i := 0; i < b.N; i++ {
		status += run("/usr/bin/appagent", "status", "--json")
	}
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		base += run("systemctl", "is-system-running")
	}
	// The same, timed inside the container: status's own cost, without nsenter's.
	inside := func(cmd string) float64 {
		out, errs, _, err := c.Exec("sh", "-c", `s=$(date +%s%N); i=0; while [ $i -lt 20 ]; do `+cmd+` >/dev/null; i=$((i+1)); done; e=$(date +%s%N); echo $(( (e-s)/20 ))`)
		ns, perr := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil || perr != nil {
			b.Fatalf("timing %s inside: %v %v %s", cmd, err, perr, errs)
		}
		return ns / 1e6
	}
	in, inBase := inside("/usr/bin/appagent status --json"), inside("systemctl is-system-running")
	hand := inside(handDBusPath + " status --json")
	b.ReportMetric(hand, "ms/status-handdbus-inside")
	b.ReportMetric(in/hand, "x_handdbus")
	b.ReportMetric(inside("/usr/bin/appagent version"), "ms/appagent-version-inside") // process start alone
	b.ReportMetric(in, "ms/status-inside")
	b.ReportMetric(inBase, "ms/systemctl-inside")
	b.ReportMetric(float64(status.Microseconds())/1000/float64(b.N), "ms/status")
	b.ReportMetric(float64(base.Microseconds())/1000/float64(b.N), "ms/systemctl")
	b.ReportMetric(float64(status)/float64(base), "x_systemctl")
}

// An upgrade that meets a file both the user and the new image changed keeps the user's and
// writes NAME.appagent-new beside it; status lists it until someone deletes it.
func TestStatusUpgradeReviewNspawn(t *testing.T) {
	nspawn.Require(t)
	config := "volume:\n  path: /data\n  paths:\n    - /etc/app\n"
	image := func(conf string) map[string]string {
		return map[string]string{"/etc/appagent/appagent.yaml": config, "/etc/app/app.conf": conf}
	}
	c1 := nspawn.Boot(t, nspawn.Options{Files: image("v=1\n"), Prepare: true})
	st, code := statusJSON(t, c1, "--wait=60s")
	if code != 0 {
		t.Fatalf("first boot: %s (exit %d): %s", st.State, code, st.Reason)
	}
	if st.Volume.Format == nil || *st.Volume.Format != 1 || st.Volume.BuildID == "" || st.Volume.BuildID != st.Volume.ImageBuildID {
		t.Errorf("after populating: volume %+v", st.Volume)
	}
	if len(st.Volume.Review) != 0 || !st.Volume.ReviewKnown {
		t.Errorf("nothing to review after the first boot: %+v", st.Volume)
	}
	c1.MustExec("sh", "-c", "echo 'v=1 # mine' > /data/etc/app/app.conf")
	if code, err := c1.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: exit %d %v", code, err)
	}

	c2 := nspawn.Boot(t, nspawn.Options{Files: image("v=2\n"), Prepare: true, Volume: c1.Volume()})
	st, code = statusJSON(t, c2, "--wait=60s")
	if code != 0 {
		t.Fatalf("after the upgrade: %s (exit %d): %s\n%s", st.State, code, st.Reason, c2.Output())
	}
	if st.Volume.BuildID != st.Volume.ImageBuildID || st.Volume.BuildID == "" {
		t.Errorf("the volume's build id %q is not the new image's %q", st.Volume.BuildID, st.Volume.ImageBuildID)
	}
	want := []string{"/data/etc/app/app.conf.appagent-new"}
	if !reflect.DeepEqual(st.Volume.Review, want) || !st.Volume.ReviewKnown {
		t.Errorf("review %v (known %v), want %v", st.Volume.Review, st.Volume.ReviewKnown, want)
	}
	if table := c2.MustExec("/usr/bin/appagent", "status"); !strings.Contains(table, "REVIEW   1 file(s) from upgrades to merge by hand") {
		t.Errorf("table lacks the review line:\n%s", table)
	}
	c2.MustExec("rm", "/data/etc/app/app.conf.appagent-new")
	if st, _ = statusJSON(t, c2); len(st.Volume.Review) != 0 {
		t.Errorf("after the file was removed: review %v", st.Volume.Review)
	}
}

// `appagent status` as the container's health check: podman runs it and reports healthy
// once the container is ready (docs/status.md's HEALTHCHECK).
func TestStatusHealthcheckPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: bootContainerfile,
		Files:         map[string]string{"appagent.yaml": minimalConfig},
	})
	c := podman.Run(t, img, podman.RunOptions{Args: []string{
		"--health-cmd", "/usr/bin/appagent status", "--health-interval", "disable", "--health-start-period", "0s"}})
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command("podman", "healthcheck", "run", c.Name).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("podman healthcheck run never passed: %v %s", err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	out, err := exec.Command("podman", "inspect", "--format", "{{.State.Health.Status}}", c.Name).Output()
	if got := strings.TrimSpace(string(out)); err != nil || got != "healthy" {
		t.Errorf("health status %q (%v), want healthy", got, err)
	}
}
