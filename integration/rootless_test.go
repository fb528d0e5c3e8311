package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/podman"
)

// rootlessUser is the unprivileged user the rootless tests run podman as; .ci/run creates
// it (with subordinate ids) when it is missing.
const rootlessUser = "appagent-rootless"

// rootless runs shell scripts as rootlessUser with rootless podman (this machine's podman
// settings, no network: rootless networking needs /dev/net/tun, which this VM refuses).
type rootless struct {
	t       *testing.T
	uid     string
	cgroup  string // the name=systemd cgroup given to the user ("" = none)
	tag     string
	archive string
}

func newRootless(t *testing.T, image string) *rootless {
	t.Helper()
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		msg := fmt.Sprintf("rootless: no user %s (bash .ci/run creates it: useradd -m %s): %v", rootlessUser, rootlessUser, err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s [CI=true: failing instead of skipping]", msg)
		}
		t.Skip(msg)
	}
	r := &rootless{t: t, uid: u.Uid, tag: strings.ReplaceAll(image, "localhost/appagent-test:", "localhost/appagent-rootless:")}
	run := filepath.Join("/run/user", u.Uid)
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", rootlessUser+":", run).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v %s", run, err, out)
	}
	// The image goes from root's storage to the user's by an archive.
	dir, err := os.MkdirTemp("", "appagent-rootless-") // t.TempDir's parent is 0700: not for the user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.archive = filepath.Join(dir, "image.tar")
	if out, err := exec.Command("podman", append(podman.GlobalFlags, "save", "-o", r.archive, image)...).CombinedOutput(); err != nil {
		t.Fatalf("podman save: %v %s", err, out)
	}
	os.Chmod(r.archive, 0o644)
	r.must(fmt.Sprintf("podman %s load -q -i %s >/dev/null && podman %s tag $(podman %s images -q | head -n1) %s",
		flags(), r.archive, flags(), flags(), r.tag))
	t.Cleanup(func() {
		r.sh("podman " + flags() + " rm -a -f >/dev/null 2>&1; podman " + flags() + " volume prune -f >/dev/null 2>&1; podman " + flags() + " rmi -a -f >/dev/null 2>&1")
		// Rootless podman keeps a pause process for its user namespace: end everything
		// of the user, so that nothing of this test outlives it and the cgroup can go.
		exec.Command("pkill", "-KILL", "-u", rootlessUser).Run()
		time.Sleep(300 * time.Millisecond)
		if r.cgroup != "" {
			exec.Command("sh", "-c", "find "+r.cgroup+" -depth -type d -exec rmdir {} +").Run()
		}
	})
	return r
}

// flags are this machine's podman settings (testing/podman.GlobalFlags), for the user's podman.
func flags() string { return strings.Join(podman.GlobalFlags, " ") }

// delegate gives the user a name=systemd cgroup of its own (the host setup the preflight
// names) and makes every later script start in it.
func (r *rootless) delegate() {
	r.cgroup = fmt.Sprintf("/sys/fs/cgroup/systemd/appagent-rootless-%d", os.Getpid())
	if err := os.Mkdir(r.cgroup, 0o755); err != nil {
		r.t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", rootlessUser+":", r.cgroup).CombinedOutput(); err != nil {
		r.t.Fatalf("chown %s: %v %s", r.cgroup, err, out)
	}
}

func (r *rootless) sh(script string) (string, int) {
	if r.cgroup != "" {
		script = "echo $$ > " + r.cgroup + "/cgroup.procs && " + script
	}
	cmd := exec.Command("runuser", "-u", rootlessUser, "--", "sh", "-c", "cd / && export XDG_RUNTIME_DIR=/run/user/"+r.uid+" && "+script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output() // podman logs writes the container's stdout and stderr to both
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out) + stderr.String(), code
	}
	return string(out), code
}

func (r *rootless) must(script string) string {
	r.t.Helper()
	out, code := r.sh(script)
	if code != 0 {
		r.t.Fatalf("as %s: %s: exit %d\n%s", rootlessUser, script, code, out)
	}
	return strings.TrimSpace(out)
}

// Rootless podman on this cgroup v1/hybrid host (docs/runtimes.md#rootless-podman): the
// user has no cgroup of its own, so the preflight stops the container, says why and names
// the host setup (no flag); once root gives the user a name=systemd cgroup and podman starts
// in it, the same image boots rootless, with the volume owned by the user on the host.
func TestRootlessPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{Containerfile: zeroFlagContainerfile, Files: map[string]string{"appagent.yaml": minimalConfig}})
	r := newRootless(t, img)
	p := "podman " + flags() + " "
	run := p + "run -d --network none --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 -v appagent-rootless-vol:/data " + r.tag

	name := r.must(run)
	code := r.must(p + "wait " + name)
	logs, _ := r.sh(p + "logs " + name + " 2>&1")
	if code != fmt.Sprint(exitcode.Preflight) {
		t.Fatalf("rootless without a cgroup of its own: exit code %s, want %d; logs:\n%s", code, exitcode.Preflight, logs)
	}
	for _, want := range []string{"FAIL  cgroup", "runs rootless", "chown -R " + r.uid, "docs/runtimes.md#rootless-podman"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "add to the podman run command line") {
		t.Errorf("a flag line was printed, but no flag fixes this:\n%s", logs)
	}
	r.must(p + "rm -f " + name + " >/dev/null")

	r.delegate()
	name = r.must(run)
	deadline := time.Now().Add(60 * time.Second)
	state := ""
	for time.Now().Before(deadline) && state != "running" {
		time.Sleep(300 * time.Millisecond)
		state, _ = r.sh(p + "exec " + name + " systemctl is-system-running")
		state = strings.TrimSpace(state)
	}
	if state != "running" {
		logs, _ := r.sh(p + "logs " + name + " 2>&1")
		t.Fatalf("rootless with a delegated cgroup: systemd is %q, want running; logs:\n%s", state, logs)
	}
	if out := r.must(p + "exec " + name + " appagent status --wait=30s"); !strings.Contains(out, "ready") {
		t.Errorf("appagent status: %s", out)
	}
	mp := r.must(p + "volume inspect --format '{{.Mountpoint}}' appagent-rootless-vol")
	if out, err := exec.Command("stat", "-c", "%u", filepath.Join(mp, ".appagent")).Output(); err != nil || strings.TrimSpace(string(out)) != r.uid {
		t.Errorf("the volume's .appagent is owned by host uid %q (%v), want the user's %s", strings.TrimSpace(string(out)), err, r.uid)
	}
	r.must(p + "kill --signal SIGRTMIN+3 " + name)
	if code := r.must(p + "wait " + name); code != "0" {
		t.Errorf("rootless stop: exit code %s, want 0", code)
	}
}

// shq quotes words for the user's sh -c script.
func shq(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// The example wiki rootless, in the cgroup root gives the user: first boot to ready, HTTP
// 200, a page edit, MariaDB's files owned on the host by the user's subordinate id for
// mysql, and a re-created container on the same volume that still has the page.
func TestWikiRootlessPodman(t *testing.T) {
	podman.Require(t)
	img := buildWiki(t, podmanEngine, 1)
	tools := wikiTools(t)
	if err := os.Chmod(filepath.Dir(tools), 0o755); err != nil { // t.TempDir's parent: the user must reach the tools
		t.Fatal(err)
	}
	r := newRootless(t, img)
	r.delegate()
	p := "podman " + flags() + " "
	args := []string{"run", "-d", "--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
		"-v", "appagent-rootless-wiki:/data", "-v", tools + ":/opt/wikitest:ro"}
	for _, e := range wikiEnv {
		args = append(args, "-e", e)
	}
	run := p + shq(append(args, r.tag)...)
	exec := func(name string, cmd ...string) string { return r.must(p + "exec " + name + " " + shq(cmd...)) }
	ready := func(name, what string) {
		if out, code := r.sh(p + "exec " + name + " appagent status --wait=5m"); code != 0 {
			logs, _ := r.sh(p + "logs " + name + " 2>&1 | tail -n 40")
			t.Fatalf("%s: appagent status --wait=5m: exit %d\n%s\nlogs:\n%s", what, code, out, logs)
		}
	}
	stop := func(name string) {
		r.must(p + "kill --signal SIGRTMIN+3 " + name)
		if code := r.must(p + "wait " + name); code != "0" {
			logs, _ := r.sh(p + "logs " + name + " 2>&1 | tail -n 40")
			t.Errorf("rootless stop of the wiki: exit code %s, want 0; last lines:\n%s", code, logs)
		}
		r.must(p + "rm " + name + " >/dev/null")
	}

	c1 := r.must(run)
	ready(c1, "rootless first boot")
	if code := exec(c1, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", wikiMain); code != "200" {
		t.Errorf("GET %s rootless: HTTP %s, want 200", wikiMain, code)
	}
	exec(c1, "/opt/wikitest/edit-page.sh", wikiAdmin, wikiPassword, wikiPage, wikiText, "/opt/wikitest/pixel.png")
	if owner := exec(c1, "stat", "-c", "%U", "/data/var/lib/mysql/mysql"); owner != "mysql" {
		t.Errorf("/data/var/lib/mysql/mysql is owned by %q in the container, want mysql", owner)
	}
	stop(c1)
	c2 := r.must(run)
	ready(c2, "rootless, re-created")
	if out := exec(c2, "curl", "-sS", wikiPageURL("raw")); !strings.Contains(out, wikiText) {
		t.Errorf("the page is not there in a re-created rootless container:\n%.300s", out)
	}
	stop(c2)
}
