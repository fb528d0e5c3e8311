package integration

import (
	"os"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// A scenario is one behaviour that must be the same on every runtime, written as data: the
// image (declaration, files, enabled units), the run (environment) and the steps with what
// each must see. TestScenarios runs each on every runtime it names, through one driver; the
// runtime-specific tests elsewhere are what cannot be said this way.
type scenario struct {
	name     string
	config   string            // /etc/appagent/appagent.yaml
	files    map[string]string // more image files by absolute path (0755 when they start with "#!")
	enable   []string          // units of /etc/systemd/system enabled for multi-user.target
	env      []string          // KEY=VALUE for the container
	runtimes []string          // of scenarioRuntimes; nil: all
	// nspawnArgs are more systemd-nspawn options (what docs/runtimes.md adds for a feature).
	nspawnArgs []string
	steps      []step
}

// A step is one thing the test does to the container and what it must see.
type step struct {
	do string // running | exec | exit | stop | volume-empty | volume-lacks
	// exec: the command; volume-lacks: paths relative to the volume that must not exist.
	args []string
	// code is the exit status of exec, or the container's for exit and stop.
	code int
	// want and not are substrings of exec's stdout, or of the container's output (podman/docker
	// logs, nspawn's console) for running, exit and stop.
	want, not []string
	// only limits the step to these runtimes; its other steps hold for all of them.
	only []string
}

// scenarioRuntimes are the runtimes of the matrix (docs/runtimes.md) a scenario can run on.
var scenarioRuntimes = []string{"nspawn", "podman", "docker"}

// scenarioContainer is what the driver asks of a container of any runtime.
type scenarioContainer interface {
	WaitRunning(d time.Duration) (string, error)
	Exec(args ...string) (stdout, stderr string, code int, err error)
	Stop(d time.Duration) (int, error)
	Wait(d time.Duration) (int, error)
	output() string
	volumeDir(t *testing.T) string
}

type nspawnScenario struct{ *nspawn.Container }

func (c nspawnScenario) output() string                { return c.Output() }
func (c nspawnScenario) volumeDir(t *testing.T) string { return c.Volume() }

type engineScenario struct {
	*container
	volume string
	must   func(t testing.TB, args ...string) string // the engine's command, with its flags
}

func (c engineScenario) output() string { return c.Logs() }

// volumeDir is the host directory of the container's named volume.
func (c engineScenario) volumeDir(t *testing.T) string {
	return strings.TrimSpace(c.must(t, "volume", "inspect", "--format", "{{.Mountpoint}}", c.volume))
}

// scenarioContainerfile is the image a scenario declares, for podman and docker: the
// documented recipe with the scenario's files copied to their places and its units enabled.
func scenarioContainerfile(sc scenario) (string, map[string]string) {
	ctx := map[string]string{"appagent.yaml": sc.config}
	var b strings.Builder
	b.WriteString("FROM {{BASE}}\nCOPY appagent /usr/bin/appagent\nCOPY appagent.yaml /etc/appagent/appagent.yaml\n")
	var paths []string
	for p := range sc.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i, p := range paths {
		name := "file" + string(rune('a'+i)) + "-" + path.Base(p)
		ctx[name] = sc.files[p]
		b.WriteString("COPY " + name + " " + p + "\n")
	}
	for _, u := range sc.enable {
		b.WriteString(`RUN ["/bin/systemctl", "enable", "` + u + `"]` + "\n")
	}
	b.WriteString("RUN [\"/usr/bin/appagent\", \"prepare\"]\nSTOPSIGNAL SIGRTMIN+3\nENTRYPOINT [\"/usr/bin/appagent\", \"init\"]\n")
	return b.String(), ctx
}

// start builds the scenario's image for runtime rt and starts it.
func (sc scenario) start(t *testing.T, rt string) scenarioContainer {
	t.Helper()
	switch rt {
	case "nspawn":
		nspawn.Require(t)
		files := map[string]string{"/etc/appagent/appagent.yaml": sc.config}
		for p, c := range sc.files {
			files[p] = c
		}
		o := nspawn.Options{Files: files, Prepare: true, Env: sc.env, ExtraArgs: sc.nspawnArgs}
		if len(sc.enable) > 0 {
			o.Setup = enableUnits(sc.enable...)
		}
		return nspawnScenario{nspawn.Boot(t, o)}
	case "podman", "docker":
		eng := podmanEngine
		if rt == "docker" {
			eng = dockerEngine
		}
		eng.require(t)
		cf, ctx := scenarioContainerfile(sc)
		img := eng.build(t, podman.BuildOptions{Containerfile: cf, Files: ctx})
		vol := eng.newVolume(t)
		return engineScenario{eng.run(t, img, podman.RunOptions{Env: sc.env, Volume: vol}), vol, eng.must}
	}
	t.Fatalf("scenario %s: unknown runtime %q (want one of %v)", sc.name, rt, scenarioRuntimes)
	return nil
}

func (s step) appliesTo(rt string) bool {
	if len(s.only) == 0 {
		return true
	}
	for _, o := range s.only {
		if o == rt {
			return true
		}
	}
	return false
}

// run does the step on c and reports what differs from the step's expectations.
func (s step) run(t *testing.T, c scenarioContainer) {
	t.Helper()
	var seen string
	switch s.do {
	case "running":
		state, err := c.WaitRunning(90 * time.Second)
		if err != nil || state != "running" {
			failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager", "--no-legend")
			t.Fatalf("systemd is %q (%v), want running; failed units:\n%s\noutput:\n%s", state, err, failed, c.output())
		}
		seen = c.output()
	case "exec":
		out, stderr, code, err := c.Exec(s.args...)
		if err != nil || code != s.code {
			t.Errorf("%s: exit %d (%v), want %d\nstdout: %s\nstderr: %s", strings.Join(s.args, " "), code, err, s.code, out, stderr)
		}
		seen = out
	case "exit":
		code, err := c.Wait(120 * time.Second)
		if err != nil {
			t.Fatalf("the container did not exit: %v\n%s", err, c.output())
		}
		if code != s.code {
			t.Errorf("the container exited %d, want %d\n%s", code, s.code, c.output())
		}
		seen = c.output()
	case "stop":
		code, err := c.Stop(20 * time.Second)
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
		if code != s.code {
			t.Errorf("exit code after SIGRTMIN+3 = %d, want %d", code, s.code)
		}
		seen = c.output()
	case "volume-empty":
		entries, err := os.ReadDir(c.volumeDir(t))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if len(names) > 0 {
			t.Errorf("the volume was touched: %q", names)
		}
		return
	case "volume-lacks":
		dir := c.volumeDir(t)
		for _, p := range s.args {
			if _, err := os.Lstat(path.Join(dir, p)); err == nil {
				t.Errorf("%s is on the volume", p)
			}
		}
		return
	default:
		t.Fatalf("unknown step %q", s.do)
	}
	for _, w := range s.want {
		if !strings.Contains(seen, w) {
			t.Errorf("%s: lacks %q:\n%s", s.do, w, seen)
		}
	}
	for _, n := range s.not {
		if strings.Contains(seen, n) {
			t.Errorf("%s: has %q:\n%s", s.do, n, seen)
		}
	}
}

// TestScenarios runs every scenario on every runtime it names, as subtests
// SCENARIO/RUNTIME (go test -run 'TestScenarios/boot/docker').
func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			rts := sc.runtimes
			if rts == nil {
				rts = scenarioRuntimes
			}
			for _, rt := range rts {
				t.Run(rt, func(t *testing.T) {
					c := sc.start(t, rt)
					for _, s := range sc.steps {
						if s.appliesTo(rt) {
							s.run(t, c)
						}
					}
				})
			}
		})
	}
}
