package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// In a docker-like run (podman --systemd=false: no tmpfs on /run, no CAP_SYS_ADMIN, cgroups
// read-only) systemd would die with "Failed to mount tmpfs at /run" on a console nobody
// reads (ENVIRONMENT.md). init's preflight must stop first, with exit code 10 and the flag
// that fixes it in podman logs.
func TestPreflightPodmanDockerLike(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: bootContainerfile,
		Files:         map[string]string{"appagent.yaml": minimalConfig},
	})
	c := podman.Run(t, img, podman.RunOptions{Args: []string{"--systemd=false"}})
	code, err := c.Wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	logs := c.Logs()
	t.Logf("podman logs:\n%s", logs)
	if code != 10 {
		t.Errorf("exit code %d, want 10 (preflight)", code)
	}
	for _, want := range []string{"preflight", "runtime: podman", "FAIL  run-tmpfs", "Failed to mount tmpfs at /run", "--systemd=always", "APPAGENT_SKIP_PREFLIGHT"} {
		if !strings.Contains(logs, want) {
			t.Errorf("podman logs lack %q", want)
		}
	}
	if strings.Contains(logs, "Exiting PID 1") {
		t.Errorf("systemd was started anyway")
	}
}

// The escape hatch: with APPAGENT_SKIP_PREFLIGHT=1 init says it skipped and execs systemd,
// which then dies its own way (here: exit 255) — proof the checks were what stopped it.
func TestPreflightSkipPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: bootContainerfile,
		Files:         map[string]string{"appagent.yaml": minimalConfig},
	})
	c := podman.Run(t, img, podman.RunOptions{Args: []string{"--systemd=false"}, Env: []string{"APPAGENT_SKIP_PREFLIGHT=1"}})
	code, err := c.Wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	logs := c.Logs()
	if code == 10 || !strings.Contains(logs, "preflight skipped") {
		t.Errorf("exit code %d; logs:\n%s", code, logs)
	}
}

// volume.require_mount refuses a volume path that is not a mount: the data would vanish with
// the container. (The harness binds /data; this image keeps its data in /srv/appdata.)
func TestPreflightRequireMountNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{"/etc/appagent/appagent.yaml": "volume:\n  path: /srv/appdata\n  require_mount: true\n"},
	})
	code, err := c.Wait(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	out := c.Output()
	if code != 10 {
		t.Errorf("exit code %d, want 10; output:\n%s", code, out)
	}
	for _, want := range []string{"FAIL  volume-mount", "/srv/appdata is not a mount point", "volume.require_mount", "--bind=/host/dir:/srv/appdata"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Without require_mount the same image starts, with a warning on the container's output.
func TestPreflightWarnNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": "volume:\n  path: /srv/appdata\n"},
		Prepare: true,
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("the container must start despite the warning: %v\n%s", err, c.Output())
	}
	if out := c.Output(); !strings.Contains(out, "WARN  volume-mount") {
		t.Errorf("no volume-mount warning on the console:\n%s", out)
	}
}

// doctor as the container's own command tries a runtime's flags before deploying: the runtime
// checks answer, the live ones are skipped (systemd does not run).
func TestDoctorAsCommandPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: bootContainerfile,
		Files:         map[string]string{"appagent.yaml": minimalConfig},
	})
	for _, tc := range []struct {
		flag string
		code int
		want []string
	}{
		{"--systemd=always", 0, []string{"PASS  run-tmpfs", "PASS  cgroup", "INFO  systemd", "only the runtime checks ran"}},
		{"--systemd=false", 1, []string{"FAIL  run-tmpfs", "--systemd=always"}},
	} {
		c := podman.Run(t, img, podman.RunOptions{Args: []string{tc.flag, "--entrypoint", "/usr/bin/appagent"}, Cmd: []string{"doctor"}})
		code, err := c.Wait(60 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		logs := c.Logs()
		if code != tc.code {
			t.Errorf("%s: doctor exit %d, want %d:\n%s", tc.flag, code, tc.code, logs)
		}
		for _, w := range tc.want {
			if !strings.Contains(logs, w) {
				t.Errorf("%s: doctor output lacks %q:\n%s", tc.flag, w, logs)
			}
		}
	}
}

// The documented recipe's VOLUME /data without -v: podman makes an anonymous volume, which
// `podman rm -v` or --rm deletes with the container. init warns and names the flag; with
// volume.require_mount it refuses (exit 10), where before it said "PASS volume-mount".
func TestPreflightAnonymousVolumePodman(t *testing.T) {
	podman.Require(t)
	cf := strings.Replace(bootContainerfile, "STOPSIGNAL", "VOLUME /data\nSTOPSIGNAL", 1)
	img := podman.Build(t, podman.BuildOptions{Containerfile: cf, Files: map[string]string{"appagent.yaml": minimalConfig}})
	c := podman.Run(t, img, podman.RunOptions{Volume: "-"})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if logs := c.Logs(); !strings.Contains(logs, "WARN  volume-mount") || !strings.Contains(logs, "is an anonymous volume") || !strings.Contains(logs, "-v NAME:/data") {
		t.Errorf("init did not warn of the anonymous volume:\n%s", logs)
	}
	c.Remove()

	strict := podman.Build(t, podman.BuildOptions{Containerfile: cf, Files: map[string]string{"appagent.yaml": minimalConfig + "  require_mount: true\n"}})
	c2 := podman.Run(t, strict, podman.RunOptions{Volume: "-"})
	code, err := c2.Wait(60 * time.Second)
	if err != nil || code != 10 || !strings.Contains(c2.Logs(), "FAIL  volume-mount") {
		t.Errorf("require_mount with an anonymous volume: exit %d %v, want 10 with FAIL volume-mount\n%s", code, err, c2.Logs())
	}
}
