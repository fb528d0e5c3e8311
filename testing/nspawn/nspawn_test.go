package nspawn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

func TestMain(m *testing.M) { Main(m) }

// plainInit boots systemd directly: these tests check the harness, not appagent init.
var plainInit = []string{"/sbin/init"}

func TestBootExecStop(t *testing.T) {
	Require(t)
	c := Boot(t, Options{
		Init: plainInit,
		Env:  []string{"HARNESS_TEST=yes"},
		Files: map[string]string{
			"/usr/local/bin/hello": "#!/bin/sh\necho out\necho err >&2\nexit 3\n",
			"/etc/harness-test":    "plain\n",
		},
		Setup: func(t testing.TB, root string) {
			if err := os.WriteFile(filepath.Join(root, "etc/from-setup"), []byte("setup\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
	state, err := c.WaitRunning(30 * time.Second)
	if err != nil || state != "running" {
		t.Fatalf("WaitRunning = %q, %v; want running", state, err)
	}
	out, errs, code, err := c.Exec("/usr/local/bin/hello")
	if err != nil || out != "out\n" || errs != "err\n" || code != 3 {
		t.Errorf("Exec(hello) = %q, %q, %d, %v; want out, err, 3, nil", out, errs, code, err)
	}
	checks := map[string][]string{
		Hostname: {"cat", "/etc/hostname"},
		"plain":  {"cat", "/etc/harness-test"},
		"setup":  {"cat", "/etc/from-setup"},
		"1":      {"sh", "-c", "tr '\\0' '\\n' < /proc/1/environ | grep -c '^HARNESS_TEST=yes$'"},
		"usage":  {"sh", "-c", "/usr/bin/appagent --help | head -c 0; /usr/bin/appagent version >/dev/null && echo usage"},
	}
	for want, args := range checks {
		if got := c.MustExec(args...); got != want {
			t.Errorf("%s = %q, want %q", strings.Join(args, " "), got, want)
		}
	}
	// /data is the volume on the host.
	c.MustExec("sh", "-c", "echo on-volume > /data/file")
	if b, err := os.ReadFile(filepath.Join(c.Volume(), "file")); err != nil || string(b) != "on-volume\n" {
		t.Errorf("volume file on the host = %q, %v; want on-volume", b, err)
	}
	// Writes go to the container's own layer, never to the cached root.
	c.MustExec("touch", "/etc/written-by-container")
	if _, err := os.Stat(filepath.Join(Root(t), "etc/written-by-container")); !os.IsNotExist(err) {
		t.Errorf("the cached root changed: a container's write reached it (stat: %v)", err)
	}
	if j := c.Journal(20); !strings.Contains(j, "systemd") {
		t.Errorf("Journal(20) shows no systemd line:\n%s", j)
	}
	code, err = c.Stop(10 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("Stop = %d, %v; want 0", code, err)
	}
	if !strings.Contains(c.Output(), "systemd") {
		t.Errorf("console output has no systemd line:\n%s", harness.Tail(c.Output(), 20))
	}
	if _, _, _, err := c.Exec("true"); err == nil {
		t.Errorf("Exec after Stop: no error")
	}
}

func TestExitCodeAndKeptRoot(t *testing.T) {
	Require(t)
	c := Boot(t, Options{Init: plainInit, Console: "pipe"})
	if _, err := c.WaitRunning(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	c.MustExec("sh", "-c", "echo kept > /etc/kept")
	// `systemctl exit N` makes systemd exit N, and nspawn returns it.
	if _, _, _, err := c.Exec("systemctl", "exit", "7"); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(20 * time.Second); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
	// A second container on the first one's writable root sees what it wrote.
	c2 := Boot(t, Options{Init: plainInit, Root: c.Root(), Volume: c.Volume()})
	if _, err := c2.WaitRunning(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c2.MustExec("cat", "/etc/kept"); got != "kept" {
		t.Errorf("/etc/kept in the second container = %q, want kept", got)
	}
	if code, err := c2.Stop(10 * time.Second); err != nil || code != 0 {
		t.Errorf("Stop = %d, %v; want 0", code, err)
	}
}

// TestCleanupLeavesNothing boots a container in a subtest that ends without stopping it and
// checks that the cleanup killed it and removed its mount, directory and nspawn state.
func TestCleanupLeavesNothing(t *testing.T) {
	Require(t)
	var c *Container
	t.Run("boot", func(t *testing.T) {
		c = Boot(t, Options{Init: plainInit})
		if _, err := c.WaitRunning(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		// A process that ignores SIGTERM, to be sure the cleanup does not hang on it.
		c.MustExec("sh", "-c", "setsid sh -c 'trap \"\" TERM; sleep 600' </dev/null >/dev/null 2>&1 &")
	})
	if c == nil {
		t.Fatal("no container")
	}
	if exited, _ := c.Exited(); !exited {
		t.Errorf("systemd-nspawn still running after cleanup")
	}
	if harness.Alive(c.leader, c.lstart) {
		t.Errorf("the container's PID 1 (host pid %d) survived the cleanup", c.leader)
	}
	if mps, _ := harness.MountsUnder(c.dir); len(mps) > 0 {
		t.Errorf("mounts left: %v", mps)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("container dir %s left (stat: %v)", c.dir, err)
	}
	if _, err := os.Stat(filepath.Join("/run/systemd/nspawn/propagate", c.machine)); !os.IsNotExist(err) {
		t.Errorf("nspawn propagate dir of %s left (stat: %v)", c.machine, err)
	}
	// Nothing else of ours runs: no nspawn whose directory is ours.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), c.dir) {
			t.Errorf("process %s still refers to %s: %q", filepath.Dir(p), c.dir, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}
