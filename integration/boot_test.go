package integration

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/docker"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// minimalConfig is the smallest declaration that validates: a volume and nothing on it.
const minimalConfig = "volume:\n  path: /data\n"

// bootContainerfile is a user's image at its simplest: appagent, its declaration, prepare.
const bootContainerfile = `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/bin/appagent", "init"]
`

// booted is what both runtimes offer the boot checks.
type booted interface {
	WaitRunning(d time.Duration) (string, error)
	Exec(args ...string) (stdout, stderr string, code int, err error)
	Stop(d time.Duration) (int, error)
}

// checkBoot asserts the boot contract: systemd reaches "running" (not degraded), the agent
// is active, and SIGRTMIN+3 stops the container within 10 s with exit code 0.
func checkBoot(t *testing.T, c booted) {
	t.Helper()
	state, err := c.WaitRunning(60 * time.Second)
	if err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	if state != "running" {
		failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager", "--no-legend")
		t.Errorf("systemctl is-system-running = %q, want running; failed units:\n%s", state, failed)
	}
	out, _, code, err := c.Exec("systemctl", "is-active", "appagent.service")
	if got := strings.TrimSpace(out); err != nil || code != 0 || got != "active" {
		status, _, _, _ := c.Exec("systemctl", "status", "--no-pager", "appagent.service")
		t.Errorf("systemctl is-active appagent.service = %q (exit %d, %v), want active; status:\n%s", got, code, err, status)
	}
	start := time.Now()
	exit, err := c.Stop(10 * time.Second)
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	if exit != 0 {
		t.Errorf("container exit code after SIGRTMIN+3 = %d, want 0", exit)
	}
	t.Logf("stopped in %s with exit code %d", time.Since(start).Round(time.Millisecond), exit)
}

// zeroFlagContainerfile is the documented recipe: the entrypoint is /usr/local/sbin/init, the
// link prepare makes to appagent, a name podman (and CRI-O) run in systemd mode by itself.
const zeroFlagContainerfile = `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
RUN ["/usr/bin/appagent", "prepare"]
VOLUME /data
ENTRYPOINT ["/usr/local/sbin/init"]
`

// `podman run -d -v NAME:/data IMAGE` with no systemd flag (--systemd=true is podman's
// default) and no STOPSIGNAL in the image: podman's systemd mode gives the tmpfs mounts, the
// cgroup and SIGRTMIN+3.
func TestBootPodmanZeroFlag(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{Containerfile: zeroFlagContainerfile, Files: map[string]string{"appagent.yaml": minimalConfig}})
	c := podman.Run(t, img, podman.RunOptions{Args: []string{"--systemd=true"}})
	if sig, err := c.Inspect("{{.Config.StopSignal}}"); err != nil || (sig != "37" && sig != "SIGRTMIN+3") {
		t.Errorf("stop signal %q (%v): podman did not take the image for a systemd one", sig, err)
	}
	checkBoot(t, c)
}

// The same image on Docker, which has no systemd mode: the documented flags do it.
func TestBootDockerInitEntrypoint(t *testing.T) {
	docker.Require(t)
	img := docker.Build(t, docker.BuildOptions{Containerfile: zeroFlagContainerfile + "STOPSIGNAL SIGRTMIN+3\n", Files: map[string]string{"appagent.yaml": minimalConfig}})
	checkBoot(t, docker.Run(t, img, docker.RunOptions{}))
}

// The systemd and glibc each Debian release of the test roots ships: the run with
// APPAGENT_TEST_SUITE=trixie (make test-debian13) must really boot systemd 257, the one with
// bullseye (make test-debian11) must run the binary on a glibc older than the build
// machine's (2.36): a cgo build needs 2.34 and would not start there.
var (
	suiteSystemd = map[string]int{"bookworm": 252, "trixie": 257, "bullseye": 247}
	suiteGlibc   = map[string]string{"bookworm": "2.36", "trixie": "2.41", "bullseye": "2.31"}
)

func TestSuiteSystemdNspawn(t *testing.T) {
	nspawn.Require(t)
	want, ok := suiteSystemd[nspawn.Suite()]
	if !ok {
		t.Fatalf("no systemd version known for suite %q: add it to suiteSystemd", nspawn.Suite())
	}
	c := nspawn.Boot(t, nspawn.Options{Files: map[string]string{"/etc/appagent/appagent.yaml": minimalConfig}, Prepare: true})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	out := c.MustExec("systemctl", "--version")
	f := strings.Fields(out)
	if len(f) < 2 || f[1] != strconv.Itoa(want) {
		t.Errorf("%s root runs %q, want systemd %d", nspawn.Suite(), strings.SplitN(out, "\n", 2)[0], want)
	}
	t.Logf("%s: %s", nspawn.Suite(), strings.SplitN(out, "\n", 2)[0])
	// The binary runs on the root's glibc and reads the journal with the root's libsystemd.
	libc := c.MustExec("/bin/sh", "-c", "/lib/x86_64-linux-gnu/libc.so.6 | head -n 1")
	if g := suiteGlibc[nspawn.Suite()]; !strings.Contains(libc, "version "+g+".") {
		t.Errorf("%s root's glibc: %q, want %s", nspawn.Suite(), libc, g)
	}
	agent := c.MustExec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent.service")
	if !strings.Contains(agent, "source=sdjournal") {
		t.Errorf("the agent does not read the journal with libsystemd on %s:\n%s", nspawn.Suite(), agent)
	}
	t.Logf("%s: %s", nspawn.Suite(), libc)
}
