package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/docker"
)

// Docker Engine has no systemd mode: the image runs with the flags docs/runtimes.md gives
// (docker.RunFlags), and the preflight must explain every flag that is missing.

func TestBootDocker(t *testing.T) {
	docker.Require(t)
	img := docker.Build(t, docker.BuildOptions{Containerfile: bootContainerfile, Files: map[string]string{"appagent.yaml": minimalConfig}})
	c := docker.Run(t, img, docker.RunOptions{})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The journal reaches docker logs (no -t), and what systemd printed on the console init
	// made before journald ran is there too, once.
	var logs string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if logs = c.Logs(); strings.Contains(logs, "Started appagent.service") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, want := range []string{"running in system mode", "Started appagent.service"} {
		if n := strings.Count(logs, want); n != 1 {
			t.Errorf("docker logs has %q %d times, want once:\n%s", want, n, logs)
		}
	}
	if strings.Contains(logs, "[  OK  ]") {
		t.Errorf("docker logs has systemd's status lines (--show-status=no missing):\n%s", logs)
	}
	if out := c.MustExec("appagent", "status", "--wait=30s"); !strings.Contains(out, "ready") {
		t.Errorf("appagent status: %s", out)
	}
	checkBoot(t, c)
}

// dockerFlagGroup is one fix the preflight can name: the flags that go together.
type dockerFlagGroup struct {
	name   string
	flags  []string
	needed bool // systemd cannot start without it
}

var dockerFlagGroups = []dockerFlagGroup{
	{"--tmpfs /run", []string{"--tmpfs", "/run"}, true},
	{"--tmpfs /run/lock", []string{"--tmpfs", "/run/lock"}, true},
	{"--tmpfs /tmp", []string{"--tmpfs", "/tmp"}, false},
	{"--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw", []string{"--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"}, true},
}

// Every combination of the documented flags, each missing in turn: the container either boots
// (nothing it needs is missing) or exits 10 (preflight) before systemd starts, and its logs end
// with ONE line of flags to add that names exactly the missing ones. None ends in a silent
// exit 255.
func TestPreflightDockerFlagCombinations(t *testing.T) {
	docker.Require(t)
	img := docker.Build(t, docker.BuildOptions{Containerfile: bootContainerfile, Files: map[string]string{"appagent.yaml": minimalConfig}})
	for mask := 0; mask < 1<<len(dockerFlagGroups); mask++ {
		var args, missing []string
		var given []string
		boots := true
		for i, g := range dockerFlagGroups {
			if mask&(1<<i) != 0 {
				args = append(args, g.flags...)
				given = append(given, g.name)
				continue
			}
			if g.needed {
				boots = false
				missing = append(missing, g.name)
			}
		}
		t.Run(fmt.Sprintf("given=%s", strings.Join(given, ",")), func(t *testing.T) {
			c := docker.Run(t, img, docker.RunOptions{NoDefaults: true, Args: args})
			if boots {
				if _, err := c.WaitRunning(60 * time.Second); err != nil {
					t.Fatalf("with every needed flag: %v", err)
				}
				return
			}
			code, err := c.Wait(60 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			logs := c.Logs()
			if code != int(exitcode.Preflight) {
				t.Fatalf("exit code %d, want %d (preflight); logs:\n%s", code, exitcode.Preflight, logs)
			}
			var line string
			for _, l := range strings.Split(logs, "\n") {
				if strings.HasPrefix(l, "appagent: add to the docker run command line: ") {
					line = strings.TrimPrefix(l, "appagent: add to the docker run command line: ")
				}
			}
			want := strings.Join(missing, " ")
			if line != want {
				t.Errorf("flag line %q, want %q (exactly the missing flags); logs:\n%s", line, want, logs)
			}
			if strings.Contains(logs, "cgroup v2") {
				t.Errorf("the logs speak of cgroup v2 on this cgroup v1/hybrid host:\n%s", logs)
			}
		})
	}
}

// With the preflight skipped and /run/lock missing, systemd dies at once (exit 255). Its last
// words go to the console init made and reach docker logs without -t. This is best effort
// (docs/runtimes.md: the pty hands data over through a work queue and PID 1's exit kills the
// keeper), so a few starts are allowed; one must show them.
func TestConsoleLastWordsDocker(t *testing.T) {
	docker.Require(t)
	img := docker.Build(t, docker.BuildOptions{Containerfile: bootContainerfile, Files: map[string]string{"appagent.yaml": minimalConfig}})
	args := []string{"--tmpfs", "/run", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"}
	const tries = 12
	for i := 1; i <= tries; i++ {
		c := docker.Run(t, img, docker.RunOptions{NoDefaults: true, Args: args, Env: []string{"APPAGENT_SKIP_PREFLIGHT=1"}})
		code, err := c.Wait(60 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		logs := c.Logs()
		c.Remove()
		if code != 255 {
			t.Fatalf("exit code %d, want systemd's own 255; logs:\n%s", code, logs)
		}
		if strings.Contains(logs, "systemd[1]: Failed to mount tmpfs at /run/lock") {
			t.Logf("systemd's last words reached docker logs on start %d of at most %d:\n%s", i, tries, logs)
			return
		}
	}
	t.Errorf("in %d starts systemd's last words never reached docker logs", tries)
}
