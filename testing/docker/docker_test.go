package docker

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

func TestBuildRunExecDiffStop(t *testing.T) {
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
		if _, _, _, err := c.Exec("no-such-command"); err == nil {
			t.Errorf("Exec of a missing command: no error, want docker's own failure reported")
		}
		if got := c.MustExec("sh", "-c", "echo v > /data/f; cat /data/f; echo x > /etc/harness-diff"); got != "v" {
			t.Errorf("volume round trip = %q", got)
		}
		if d := strings.Join(Diff(t, c), "\n"); !strings.Contains(d, "A /etc/harness-diff") || strings.Contains(d, "/data/f") {
			t.Errorf("docker diff = %q; want A /etc/harness-diff and nothing of the volume", d)
		}
		if j := c.Journal(20); !strings.Contains(j, "systemd") {
			t.Errorf("Journal(20) has no systemd line:\n%s", j)
		}
		code, err = c.Stop(10 * time.Second)
		if err != nil || code != 0 {
			t.Fatalf("Stop = %d, %v; want 0", code, err)
		}
		if _, _, _, err := c.Exec("true"); err == nil {
			t.Errorf("Exec in a stopped container: no error")
		}
		// The journal of a stopped container is copied out of it.
		if j := c.Journal(20); !strings.Contains(j, "systemd") {
			t.Errorf("Journal(20) of an exited container has no systemd line:\n%s", j)
		}
	})
	if c == nil {
		t.Fatal("no container")
	}
	// The subtest's cleanup removed the container, the test image and the volume.
	for what, args := range map[string][]string{
		"container " + c.Name: {"container", "inspect", c.Name},
		"image " + img:        {"image", "inspect", img},
		"volume " + vol:       {"volume", "inspect", vol},
	} {
		if r, err := Engine.Cmd(Engine.CommandTimeout, nil, args...); err != nil || r.Code == 0 {
			t.Errorf("%s still exists after cleanup (docker %s: exit %d %v)", what, strings.Join(args, " "), r.Code, err)
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
	if _, _, _, err := c.Exec("systemctl", "exit", "7"); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(30 * time.Second); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
}

// Everything the harness makes carries the owner label, so the sweep and .ci/run's
// leftover check find it; the sweep lists it under its owner.
func TestOwnerLabelOnEverything(t *testing.T) {
	Require(t)
	vol := NewVolume(t)
	img := Build(t, BuildOptions{Containerfile: plainContainerfile, Files: map[string]string{"hello.sh": "#!/bin/sh\n"}})
	c := Run(t, img, RunOptions{Volume: vol, Cmd: nil})
	want := map[string]string{"container": c.Name, "image": img, "volume": vol}
	for _, k := range Kinds {
		items, err := list(k)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for id, owner := range items {
			if owner != harness.Owner() {
				continue
			}
			if k.Name == "volume" && id == vol || k.Name != "volume" {
				found = true
			}
		}
		if !found {
			t.Errorf("the sweep's %s listing has nothing of owner %s (want %s): a crashed run's %s would be left behind", k.Name, harness.Owner(), want[k.Name], k.Name)
		}
	}
}
