package podman

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
	"github.com/appagent/appagent/testing/nspawn"
)

func TestMain(m *testing.M) { nspawn.Main(m) }

// plainContainerfile boots systemd directly: these tests check the harness, not appagent init.
const plainContainerfile = `FROM {{BASE}}
COPY hello.sh /usr/local/bin/hello
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/sbin/init"]
`

func TestBuildRunExecStop(t *testing.T) {
	Require(t)
	var c *Container
	var img, vol string
	t.Run("run", func(t *testing.T) {
		img = Build(t, BuildOptions{
			Containerfile: plainContainerfile,
			Files:         map[string]string{"hello.sh": "#!/bin/sh\necho out\necho err >&2\nexit 3\n"},
		})
		vol = NewVolume(t)
		c = Run(t, img, RunOptions{Volume: vol, Env: []string{"HARNESS_TEST=yes"}})
		state, err := c.WaitRunning(30 * time.Second)
		if err != nil || state != "running" {
			t.Fatalf("WaitRunning = %q, %v; want running", state, err)
		}
		out, errs, code, err := c.Exec("hello")
		if err != nil || out != "out\n" || errs != "err\n" || code != 3 {
			t.Errorf("Exec(hello) = %q, %q, %d, %v; want out, err, 3, nil", out, errs, code, err)
		}
		if got := c.MustExec("sh", "-c", "echo v > /data/f; cat /data/f"); got != "v" {
			t.Errorf("volume round trip = %q", got)
		}
		if got := c.MustExec("sh", "-c", "tr '\\0' '\\n' < /proc/1/environ | grep -c '^HARNESS_TEST=yes$'"); got != "1" {
			t.Errorf("HARNESS_TEST in PID 1's environment: count %q, want 1", got)
		}
		if j := c.Journal(20); !strings.Contains(j, "systemd") {
			t.Errorf("Journal(20) has no systemd line:\n%s", j)
		}
		code, err = c.Stop(10 * time.Second)
		if err != nil || code != 0 {
			t.Fatalf("Stop = %d, %v; want 0", code, err)
		}
	})
	if c == nil {
		t.Fatal("no container")
	}
	// The subtest's cleanup removed the container, the test image and the volume.
	for what, args := range map[string][]string{
		"container " + c.Name: {"container", "exists", c.Name},
		"image " + img:        {"image", "exists", img},
		"volume " + vol:       {"volume", "exists", vol},
	} {
		r, err := podman(CommandTimeout, nil, args...)
		if err != nil || r.Code != 1 {
			t.Errorf("%s still exists after cleanup (podman %s: exit %d %v)", what, strings.Join(args, " "), r.Code, err)
		}
	}
}

func TestExitCodeAndReadOnly(t *testing.T) {
	Require(t)
	img := Build(t, BuildOptions{
		Containerfile: plainContainerfile,
		Files:         map[string]string{"hello.sh": "#!/bin/sh\nexit 0\n"},
	})
	c := Run(t, img, RunOptions{ReadOnly: true, Volume: t.TempDir()})
	if _, err := c.WaitRunning(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, _, code, _ := c.Exec("touch", "/etc/x"); code == 0 {
		t.Errorf("touch /etc/x succeeded in a --read-only container")
	}
	// `systemctl exit N` makes systemd exit N, and podman reports it.
	if _, _, _, err := c.Exec("systemctl", "exit", "7"); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(30 * time.Second); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
	if st, code, err := c.State(); err != nil || st != "exited" || code != 7 {
		t.Errorf("State = %s, %d, %v; want exited, 7", st, code, err)
	}
}

func TestOwnerLabelOnEverything(t *testing.T) {
	Require(t)
	vol := NewVolume(t)
	r, err := podman(CommandTimeout, nil, "volume", "inspect", "--format", "{{index .Labels \""+harness.LabelOwner+"\"}}", vol)
	if err != nil || strings.TrimSpace(r.Stdout) != harness.Owner() {
		t.Errorf("volume %s owner label = %q (%v), want %q: the sweep could not find it after a crash", vol, r.Stdout, err, harness.Owner())
	}
}
