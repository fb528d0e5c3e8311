package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/ocihook"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// podman --userns=auto on this cgroup v1/hybrid host (docs/runtimes.md#user-namespaces):
// without the host's hook the preflight stops the container and says why, naming no flag;
// with `appagent oci-hook` installed (here in a hooks dir of the test's own) the same image
// boots in its user namespace, with the volume owned by the container's root.
func TestUserNSPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{Containerfile: zeroFlagContainerfile, Files: map[string]string{"appagent.yaml": minimalConfig}})
	userns := func(extra ...string) []string {
		return append([]string{"--systemd=true", "--userns=auto", "-v", podman.NewVolume(t) + ":/data:U"}, extra...)
	}

	t.Run("without the hook", func(t *testing.T) {
		c := podman.Run(t, img, podman.RunOptions{Volume: "-", Args: userns()})
		code, err := c.Wait(60 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		logs := c.Logs()
		if code != int(exitcode.Preflight) {
			t.Fatalf("exit code %d, want %d (preflight); logs:\n%s", code, exitcode.Preflight, logs)
		}
		for _, want := range []string{"FAIL  cgroup", "user namespace (its root is uid", "no runtime flag", "docs/runtimes.md#user-namespaces"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q:\n%s", want, logs)
			}
		}
		if strings.Contains(logs, "add to the podman run command line") {
			t.Errorf("a flag line was printed, but flags cannot fix this:\n%s", logs)
		}
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "fix:") && strings.Contains(l, "--systemd=always") && strings.Contains(l, "cgroup") {
				t.Errorf("the cgroup fix names --systemd=always, which podman's systemd mode already gives: %s", l)
			}
		}
	})

	t.Run("with the hook", func(t *testing.T) {
		hooks := hooksDir(t)
		c := podman.Run(t, img, podman.RunOptions{Volume: "-", Global: []string{"--hooks-dir", hooks},
			Args: userns("--annotation", ocihook.Annotation+"=true")})
		if m := c.MustExec("cat", "/proc/self/uid_map"); strings.Fields(m)[1] == "0" {
			t.Fatalf("the container has no user namespace: uid_map %q", m)
		}
		if owner := c.MustExec("stat", "-c", "%u:%g", "/data/.appagent"); owner != "0:0" {
			t.Errorf("/data/.appagent is owned by %s in the container, want 0:0 (the volume's :U)", owner)
		}
		checkBoot(t, c)
	})
}

// The example wiki in a user namespace (a fixed --uidmap/--gidmap, the host's oci-hook):
// first boot to ready, HTTP 200, a page edit, and a re-created container on the same volume
// that still has the page. The database's files on the volume belong to the container's
// mysql user. The volume gets :U on the first start only: podman's :U gives every file to the
// container's root, which on a later start would take the database from mysql
// (docs/runtimes.md#user-namespaces says so).
func TestWikiUserNSPodman(t *testing.T) {
	podman.Require(t)
	img := buildWiki(t, podmanEngine, 1)
	tools := wikiTools(t)
	hooks := hooksDir(t)
	vol := podman.NewVolume(t)
	run := func(volOpt string) *container {
		return podman.Run(t, img, podman.RunOptions{Volume: "-", Env: wikiEnv, Global: []string{"--hooks-dir", hooks},
			Args: []string{"--systemd=true", "--uidmap=0:2000000:65536", "--gidmap=0:2000000:65536",
				"--annotation", ocihook.Annotation + "=true", "-v", vol + ":/data" + volOpt, "-v", tools + ":/opt/wikitest:ro"}})
	}
	c1 := run(":U")
	wikiReady(t, c1, "first boot in a user namespace")
	wikiCheckMainPage(t, c1)
	c1.MustExec("/opt/wikitest/edit-page.sh", wikiAdmin, wikiPassword, wikiPage, wikiText, "/opt/wikitest/pixel.png")
	wikiCheckPage(t, c1, "after creating it")
	if owner := c1.MustExec("stat", "-c", "%U", "/data/var/lib/mysql/mysql"); owner != "mysql" {
		t.Errorf("/data/var/lib/mysql/mysql is owned by %q in the container, want mysql", owner)
	}
	wikiStop(t, c1)
	c1.Remove()
	c2 := run("")
	wikiReady(t, c2, "re-created in a user namespace")
	wikiCheckPage(t, c2, "in a new container on the same volume")
	wikiStop(t, c2)
}

// hooksDir is a podman --hooks-dir of the test's own with appagent oci-hook installed as the
// docs say (appagent oci-hook --print-config), for this checkout's binary.
func hooksDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := ocihook.Config(nspawn.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "appagent-cgroup.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
