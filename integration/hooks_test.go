package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// hooksConfig declares the three hooks and one application unit. The configure hook takes
// two seconds, so an application unit started too early would be seen.
const hooksConfig = `volume:
  path: /data
parameters:
  - name: APP_GREETING
    description: what the hooks write
    default: hello
units:
  - app.service
hooks:
  configure: /usr/local/bin/hook configure
  upgrade: /usr/local/bin/hook upgrade
`

// hookScript appends a line to /data/<hook>.log; the hooks get the parameters too.
const hookScript = `#!/bin/sh
echo "$1 running with APP_GREETING=$APP_GREETING"
sleep 2
echo "$1 $APP_GREETING" >> /data/$1.log
echo "$1 done"
`

const hooksAppUnit = `[Unit]
Description=test application

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "app started"; test -f /data/configure.log && echo configured > /data/app.out'

[Install]
WantedBy=multi-user.target
`

func hookFiles(config string) map[string]string {
	return map[string]string{
		"/etc/appagent/appagent.yaml":     config,
		"/usr/local/bin/hook":             hookScript,
		"/etc/systemd/system/app.service": hooksAppUnit,
	}
}

// lines counts the lines of a file on the volume (0 when it does not exist).
func lines(t *testing.T, vol, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vol, name))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

type execer interface {
	Exec(args ...string) (stdout, stderr string, code int, err error)
}

// monotonic returns a unit's timestamp property in microseconds since boot.
func monotonic(t *testing.T, c execer, unit, prop string) uint64 {
	t.Helper()
	out, _, code, err := c.Exec("systemctl", "show", "--value", "-p", prop, unit)
	if err != nil || code != 0 {
		t.Fatalf("systemctl show %s %s: %v", prop, unit, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("%s of %s = %q", prop, unit, out)
	}
	return n
}

// journalTime returns the journal's monotonic time of the first entry whose message is msg.
func journalTime(t *testing.T, c execer, msg string) uint64 {
	t.Helper()
	out, _, _, err := c.Exec("journalctl", "--no-pager", "-o", "json", "-b", "MESSAGE="+msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		if s, ok := e["__MONOTONIC_TIMESTAMP"].(string); ok {
			n, _ := strconv.ParseUint(s, 10, 64)
			return n
		}
	}
	t.Fatalf("no journal entry %q", msg)
	return 0
}

// checkOrder asserts that app.service started only after the configure hook finished: by the
// units' own timestamps and by the order of their messages in the journal.
func checkOrder(t *testing.T, c execer) {
	t.Helper()
	hookDone := monotonic(t, c, "appagent-configure.service", "ActiveEnterTimestampMonotonic")
	appStart := monotonic(t, c, "app.service", "InactiveExitTimestampMonotonic")
	if hookDone == 0 || appStart < hookDone {
		t.Errorf("app.service started at %d µs, before the configure hook finished at %d µs", appStart, hookDone)
	}
	if done, app := journalTime(t, c, "configure done"), journalTime(t, c, "app started"); app < done {
		t.Errorf("journal: \"app started\" at %d µs before \"configure done\" at %d µs", app, done)
	}
}

func stop(t *testing.T, c interface {
	Stop(time.Duration) (int, error)
}) {
	t.Helper()
	if code, err := c.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: exit %d, %v", code, err)
	}
}

func waitRunning(t *testing.T, c interface {
	execer
	WaitRunning(time.Duration) (string, error)
}) {
	t.Helper()
	state, err := c.WaitRunning(90 * time.Second)
	if err != nil || state != "running" {
		failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager")
		t.Fatalf("state %q, %v; failed units:\n%s", state, err, failed)
	}
}

func TestHooksConfigureOnceUpgradeOnceNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{Files: hookFiles(hooksConfig), Setup: enableUnits("app.service"), Prepare: true})
	waitRunning(t, c)
	vol := c.Volume()
	if n := lines(t, vol, "configure.log"); n != 1 {
		t.Errorf("first start: configure ran %d times, want 1", n)
	}
	if n := lines(t, vol, "upgrade.log"); n != 0 {
		t.Errorf("first start: the upgrade hook ran (%d); configure covers the first start", n)
	}
	if got, _ := os.ReadFile(filepath.Join(vol, "configure.log")); string(got) != "configure hello\n" {
		t.Errorf("the hook did not get the parameter: %q", got)
	}
	if _, err := os.Stat(filepath.Join(vol, "app.out")); err != nil {
		t.Errorf("app.service did not see the configured volume: %v", err)
	}
	checkOrder(t, c)
	stop(t, c)

	// Second start, same image: no hook runs.
	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol})
	waitRunning(t, c)
	if n := lines(t, vol, "configure.log"); n != 1 {
		t.Errorf("second start: configure ran %d times in all, want 1", n)
	}
	if got := c.MustExec("systemctl", "show", "--value", "-p", "ConditionResult", "appagent-configure.service"); got != "no" {
		t.Errorf("second start: configure's condition = %q, want no (skipped)", got)
	}
	if n := lines(t, vol, "upgrade.log"); n != 0 {
		t.Errorf("second start: the upgrade hook ran")
	}
	stop(t, c)

	// A rebuilt image (prepare again: a new build id): the upgrade hook runs once.
	oldID, _ := os.ReadFile(filepath.Join(c.Root(), "usr/share/appagent/build-id"))
	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol, Prepare: true})
	waitRunning(t, c)
	newID, _ := os.ReadFile(filepath.Join(c.Root(), "usr/share/appagent/build-id"))
	if len(oldID) == 0 || string(oldID) == string(newID) {
		t.Fatalf("prepare did not make a new build id (%q -> %q)", oldID, newID)
	}
	if n := lines(t, vol, "upgrade.log"); n != 1 {
		t.Errorf("after a rebuild: the upgrade hook ran %d times, want 1", n)
	}
	if n := lines(t, vol, "configure.log"); n != 1 {
		t.Errorf("after a rebuild: configure ran again")
	}
	upDone := monotonic(t, c, "appagent-upgrade.service", "ActiveEnterTimestampMonotonic")
	if appStart := monotonic(t, c, "app.service", "InactiveExitTimestampMonotonic"); appStart < upDone {
		t.Errorf("app.service started before the upgrade hook finished")
	}
	stop(t, c)

	// The same rebuilt image again: no upgrade.
	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol})
	waitRunning(t, c)
	if n := lines(t, vol, "upgrade.log"); n != 1 {
		t.Errorf("second start of the rebuilt image: the upgrade hook ran %d times in all, want 1", n)
	}
	stop(t, c)
}

const failingHooksConfig = `volume:
  path: /data
units:
  - app.service
hooks:
  configure:
    command: /usr/local/bin/configure
    exit_code: 33
`

const failingConfigure = `#!/bin/sh
echo "configure: connecting to the database"
echo "configure: cannot reach the database at db:5432" >&2
exit 3
`

const essentialConfig = `volume:
  path: /data
units:
  - name: app.service
    essential: true
    exit_code: 42
`

const failingAppUnit = `[Service]
ExecStart=/bin/sh -c 'echo "app: config file /etc/app.conf is missing"; exit 4'

[Install]
WantedBy=multi-user.target
`

// The generator's masks are in effect in a booted container.
func TestMasksNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{Files: map[string]string{"/etc/appagent/appagent.yaml": minimalConfig + "container:\n  mask: [systemd-logind.service]\n  unmask: [keyboard-setup.service]\n  default_target: multi-user.target\n"}, Prepare: true})
	waitRunning(t, c)
	// The generator masks in its early directory, which systemctl calls masked-runtime.
	for _, unit := range []string{"systemd-firstboot.service", "console-getty.service", "systemd-logind.service"} {
		out, _, _, _ := c.Exec("systemctl", "is-enabled", unit)
		if got := strings.TrimSpace(out); got != "masked-runtime" {
			t.Errorf("%s: is-enabled = %q, want masked-runtime", unit, got)
		}
	}
	if out, _, _, _ := c.Exec("systemctl", "is-active", "console-getty.service"); strings.TrimSpace(out) == "active" {
		t.Errorf("console-getty.service runs although masked")
	}
	if got := c.MustExec("systemctl", "get-default"); got != "multi-user.target" {
		t.Errorf("default target %q, want multi-user.target (container.default_target)", got)
	}
	if out, _, _, _ := c.Exec("systemctl", "is-enabled", "keyboard-setup.service"); strings.TrimSpace(out) == "masked" {
		t.Errorf("keyboard-setup.service is masked although the image unmasked it")
	}
}

const onChangeConfig = `volume:
  path: /data
parameters:
  - name: APP_RELAY
    description: the mail relay
    on_change: reconfigure
  - name: APP_TITLE
    description: the title
  - name: APP_DB
    description: the database kind
    on_change: refuse
units:
  - app.service
hooks:
  configure: /usr/local/bin/hook configure
  reconfigure: /bin/sh -c 'echo "reconfigure changed=$APPAGENT_CHANGED relay=$APP_RELAY title=$APP_TITLE" >> /data/reconfigure.log'
`

func TestOnChangeNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{Files: hookFiles(onChangeConfig), Setup: enableUnits("app.service"), Prepare: true,
		Env: []string{"APP_RELAY=mail1", "APP_TITLE=First", "APP_DB=mysql"}})
	waitRunning(t, c)
	vol := c.Volume()
	if n := lines(t, vol, "reconfigure.log"); n != 0 {
		t.Errorf("first start: reconfigure ran")
	}
	stop(t, c)

	// A changed relay runs the reconfigure hook with the new value; a changed title is
	// ignored with a warning; the same database is no change.
	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol,
		Env: []string{"APP_RELAY=mail2", "APP_TITLE=Second", "APP_DB=mysql"}})
	waitRunning(t, c)
	got, _ := os.ReadFile(filepath.Join(vol, "reconfigure.log"))
	if string(got) != "reconfigure changed=APP_RELAY relay=mail2 title=First\n" {
		t.Errorf("reconfigure.log = %q", got)
	}
	if !strings.Contains(c.Output(), "APP_TITLE (the title) was given another value") {
		t.Errorf("no warning about the ignored APP_TITLE:\n%s", c.Output())
	}
	if _, err := os.Stat(filepath.Join(vol, ".appagent/stamps/reconfigure-pending")); err == nil {
		t.Errorf("reconfigure-pending left after the hook succeeded")
	}
	stop(t, c)

	// The same values again: no second reconfigure.
	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol,
		Env: []string{"APP_RELAY=mail2", "APP_DB=mysql"}})
	waitRunning(t, c)
	if n := lines(t, vol, "reconfigure.log"); n != 1 {
		t.Errorf("reconfigure ran %d times in all, want 1", n)
	}
	stop(t, c)

	// A refused change stops the start with its own code.
	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol, Env: []string{"APP_DB=postgres"}})
	code, err := c.Wait(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 18 || !strings.Contains(c.Output(), "APP_DB (the database kind) was given another value") {
		t.Errorf("exit %d, output:\n%s", code, c.Output())
	}
}

// With a read-only root (podman --read-only) the hooks, their stamps on the volume and the
// parameter files in /run all work: nothing of this issue writes outside /data and /run.
func TestHooksReadOnlyPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
COPY hook /usr/local/bin/hook
COPY app.service /etc/systemd/system/app.service
RUN ["/bin/chmod", "755", "/usr/local/bin/hook"]
RUN ["/bin/ln", "-s", "/etc/systemd/system/app.service", "/etc/systemd/system/multi-user.target.wants/app.service"]
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/bin/appagent", "init"]
`,
		// logind needs a writable /var/lib/systemd (StateDirectory=): with a read-only root an
		// image keeps that on the volume, or masks logind as here.
		Files: map[string]string{"appagent.yaml": hooksConfig + "container:\n  mask: [systemd-logind.service]\n",
			"hook": hookScript, "app.service": hooksAppUnit},
	})
	vol := podman.NewVolume(t)
	c := podman.Run(t, img, podman.RunOptions{ReadOnly: true, Volume: vol, Env: []string{"APP_GREETING=read-only"}})
	waitRunning(t, c)
	if out, _, _, _ := c.Exec("cat", "/data/configure.log"); out != "configure read-only\n" {
		t.Errorf("configure.log = %q", out)
	}
	if out, _, _, _ := c.Exec("cat", "/data/app.out"); out != "configured\n" {
		t.Errorf("app.out = %q", out)
	}
	checkOrder(t, c)
	stop(t, c)
	c.Remove()

	c = podman.Run(t, img, podman.RunOptions{ReadOnly: true, Volume: vol})
	waitRunning(t, c)
	if out, _, _, _ := c.Exec("cat", "/data/configure.log"); out != "configure read-only\n" {
		t.Errorf("second start: configure.log = %q (the hook must not run again; the stored parameter must be used)", out)
	}
	stop(t, c)
}

// An essential unit that is not a service (here a mount) has no ExecStopPost=: its OnFailure=
// unit reports it and exits the container with the declared code.
func TestEssentialMountFailsNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":     "volume:\n  path: /data\nunits:\n  - name: mnt-x.mount\n    essential: true\n    exit_code: 44\n",
			"/etc/systemd/system/mnt-x.mount": "[Mount]\nWhat=/dev/nonexistent-disk\nWhere=/mnt/x\nType=ext4\n\n[Install]\nWantedBy=multi-user.target\n",
		},
		Setup:   enableUnits("mnt-x.mount"),
		Prepare: true,
	})
	code, err := c.Wait(90 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 44 {
		t.Errorf("exit code %d, want the declared 44", code)
	}
	if want := "appagent: mnt-x.mount failed: result exit-code; the container exits with code 44"; !strings.Contains(c.Output(), want) {
		t.Errorf("the container's output lacks %q:\n%s", want, c.Output())
	}
	if !strings.Contains(c.Output(), "last ") {
		t.Errorf("the report has no log lines of the mount:\n%s", c.Output())
	}
}

// Every kind of listed unit together with all hooks: the drop-ins create no ordering cycle
// (systemd would log "Found ordering cycle" and drop a job) and the system comes up.
func TestNoOrderingCycleNspawn(t *testing.T) {
	nspawn.Require(t)
	files := hookFiles(`volume:
  path: /data
units:
  - name: app.service
    essential: true
  - name: tick.timer
    essential: true
  - name: echo.socket
    essential: true
  - name: echo@.service
hooks:
  configure: /usr/local/bin/hook configure
  upgrade: /usr/local/bin/hook upgrade
`)
	files["/etc/systemd/system/tick.timer"] = "[Timer]\nOnActiveSec=1h\n\n[Install]\nWantedBy=timers.target\n"
	files["/etc/systemd/system/tick.service"] = "[Service]\nType=oneshot\nExecStart=/bin/true\n"
	files["/etc/systemd/system/echo.socket"] = "[Socket]\nListenStream=/run/echo.sock\nAccept=yes\n\n[Install]\nWantedBy=sockets.target\n"
	files["/etc/systemd/system/echo@.service"] = "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"
	c := nspawn.Boot(t, nspawn.Options{Files: files, Prepare: true, Setup: func(t testing.TB, root string) {
		enableUnits("app.service")(t, root)
		for _, l := range []struct{ dir, unit string }{{"timers.target.wants", "tick.timer"}, {"sockets.target.wants", "echo.socket"}} {
			os.MkdirAll(filepath.Join(root, "etc/systemd/system", l.dir), 0o755)
			if err := os.Symlink("/etc/systemd/system/"+l.unit, filepath.Join(root, "etc/systemd/system", l.dir, l.unit)); err != nil {
				t.Fatal(err)
			}
		}
	}})
	waitRunning(t, c)
	if j := c.MustExec("journalctl", "--no-pager", "-b"); strings.Contains(strings.ToLower(j), "ordering cycle") {
		t.Errorf("ordering cycle:\n%s", j)
	}
	for _, u := range []string{"tick.timer", "echo.socket", "app.service"} {
		if got := c.MustExec("systemctl", "is-active", u); got != "active" {
			t.Errorf("%s is %s", u, got)
		}
	}
	if hookDone, timer := monotonic(t, c, "appagent-configure.service", "ActiveEnterTimestampMonotonic"),
		monotonic(t, c, "tick.timer", "ActiveEnterTimestampMonotonic"); timer < hookDone {
		t.Errorf("tick.timer started before the configure hook finished")
	}
}

// TestHooksOddVolumePathNspawn: the volume path reaches the hook units' conditions and stamp
// command through systemd's parser, which splits command lines at spaces and expands %
// specifiers (%t is /run). With a volume at "/srv/app data/100%t" the configure hook must
// run once, leave its stamp on that volume, and be skipped at the next start.
func TestHooksOddVolumePathNspawn(t *testing.T) {
	nspawn.Require(t)
	const volPath = "/srv/app data/100%t"
	config := "volume:\n  path: \"" + volPath + "\"\nunits:\n  - app.service\nhooks:\n  configure: /usr/local/bin/hook configure\n"
	host := t.TempDir()
	files := hookFiles(config)
	files["/usr/local/bin/hook"] = "#!/bin/sh\necho \"$1 ran\" >> \"" + volPath + "/$1.log\"\n"
	files["/etc/systemd/system/app.service"] = "[Unit]\nDescription=test application\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
	opts := nspawn.Options{Files: files, Setup: func(t testing.TB, root string) {
		enableUnits("app.service")(t, root)
		os.MkdirAll(filepath.Join(root, volPath), 0o755)
	}, Prepare: true, ExtraArgs: []string{"--bind=" + host + ":" + volPath}}
	c := nspawn.Boot(t, opts)
	waitRunning(t, c)
	if n := lines(t, host, "configure.log"); n != 1 {
		t.Errorf("first start: configure ran %d times, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(host, ".appagent/stamps/configure")); err != nil {
		t.Errorf("no configure stamp on the volume: %v", err)
	}
	stop(t, c)

	opts.Root, opts.Setup, opts.Files, opts.Prepare = c.Root(), nil, nil, false
	c = nspawn.Boot(t, opts)
	waitRunning(t, c)
	if n := lines(t, host, "configure.log"); n != 1 {
		t.Errorf("second start: configure ran %d times in all, want 1", n)
	}
	if got := c.MustExec("systemctl", "show", "--value", "-p", "ConditionResult", "appagent-configure.service"); got != "no" {
		t.Errorf("second start: configure's condition = %q, want no (skipped)", got)
	}
	stop(t, c)
}

// A stop during the configure hook is a clean stop (issue 13, item 2): the hook is killed by
// the shutdown's SIGTERM, which is not its failure; no report names an exit code the
// container does not have, and the container exits 0. The next start runs the hook again.
func TestStopDuringConfigureNspawn(t *testing.T) {
	nspawn.Require(t)
	files := hookFiles(failingHooksConfig)
	files["/usr/local/bin/configure"] = "#!/bin/sh\necho 'configure: working'; touch /data/configure-started; sleep 120\n"
	c := nspawn.Boot(t, nspawn.Options{Files: files, Setup: enableUnits("app.service"), Prepare: true})
	wikiWaitFor(t, 60*time.Second, "the configure hook running", func() bool {
		_, err := os.Stat(filepath.Join(c.Volume(), "configure-started"))
		return err == nil
	})
	code, err := c.Stop(60 * time.Second)
	if err != nil || code != 0 {
		t.Errorf("stop during the configure hook: exit %d %v, want 0", code, err)
	}
	if out := c.Output(); strings.Contains(out, "failed:") || strings.Contains(out, "exits with code 33") {
		t.Errorf("a clean stop reported a failure:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(c.Volume(), ".appagent/stamps/configure")); err == nil {
		t.Errorf("the interrupted configure hook left its stamp")
	}
}

const adoptConfig = `volume:
  path: /data
parameters:
  - name: APP_RELAY
    description: the mail relay
    on_change: reconfigure
  - name: APP_TITLE
    description: the title
    default: Wiki
units:
  - app.service
hooks:
  configure: /usr/local/bin/hook configure
  reconfigure: /bin/sh -c 'echo "reconfigure changed=$APPAGENT_CHANGED relay=$APP_RELAY" >> /data/reconfigure.log'
`

// TestAdoptLostStateNspawn: the application's data is on the volume but .appagent is lost
// (issue 13, item 10). The start refuses with code 19 and changes nothing; with
// APPAGENT_ADOPT=yes it adopts the volume without running the configure hook again, hands
// the given relay to the reconfigure hook, and names the parameter that fell back to its
// default. The next start is an ordinary one.
func TestAdoptLostStateNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{Files: hookFiles(adoptConfig), Setup: enableUnits("app.service"), Prepare: true,
		Env: []string{"APP_RELAY=mail1", "APP_TITLE=My pages"}})
	waitRunning(t, c)
	vol := c.Volume()
	stop(t, c)
	if n := lines(t, vol, "configure.log"); n != 1 {
		t.Fatalf("first boot: configure ran %d times", n)
	}
	if err := os.RemoveAll(filepath.Join(vol, ".appagent")); err != nil {
		t.Fatal(err)
	}

	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol, Env: []string{"APP_RELAY=mail2"}})
	code, err := c.Wait(60 * time.Second)
	if err != nil || code != int(exitcode.VolumeForeign) || !strings.Contains(c.Output(), "APPAGENT_ADOPT=yes") || !strings.Contains(c.Output(), `"configure.log"`) {
		t.Fatalf("a volume without its state: exit %d %v, want %d naming APPAGENT_ADOPT=yes and what it holds\n%s", code, err, exitcode.VolumeForeign, c.Output())
	}
	if _, err := os.Stat(filepath.Join(vol, ".appagent/manifest.json")); err == nil {
		t.Errorf("the refused start wrote a manifest")
	}

	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol, Env: []string{"APP_RELAY=mail2", "APPAGENT_ADOPT=yes"}})
	waitRunning(t, c)
	out := c.Output()
	if n := lines(t, vol, "configure.log"); n != 1 {
		t.Errorf("adoption ran the configure hook again (%d runs in all)", n)
	}
	if got, _ := os.ReadFile(filepath.Join(vol, "reconfigure.log")); string(got) != "reconfigure changed=APP_RELAY relay=mail2\n" {
		t.Errorf("reconfigure.log = %q, want the given relay handed to the reconfigure hook", got)
	}
	for _, want := range []string{"adopting the volume /data", `adopted volume: APP_TITLE takes the image's default "Wiki"`, "-e APP_TITLE=VALUE"} {
		if !strings.Contains(out, want) {
			t.Errorf("adoption output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "APP_RELAY takes") {
		t.Errorf("a given parameter is named as defaulted:\n%s", out)
	}
	stop(t, c)

	c = nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: vol, Env: []string{"APP_RELAY=mail2"}})
	waitRunning(t, c)
	if out := c.Output(); !strings.Contains(out, "is up to date") || strings.Contains(out, "adopt") {
		t.Errorf("the start after the adoption:\n%s", out)
	}
	if n := lines(t, vol, "configure.log"); n != 1 {
		t.Errorf("configure ran again after the adoption (%d runs)", n)
	}
	stop(t, c)
}
