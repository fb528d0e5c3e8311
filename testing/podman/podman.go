package podman

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
	"github.com/appagent/appagent/testing/nspawn"
)

// GlobalFlags go before every podman subcommand: crun refuses this machine's hybrid cgroups,
// there is no host systemd to manage cgroups, and journald is not there to take events.
var GlobalFlags = []string{"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}

// Ulimits are passed to run and build: the VM refuses podman's default rlimits.
var Ulimits = []string{"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"}

// BaseRepo is the repository of the cached base images, tagged by nspawn.Key.
const BaseRepo = "localhost/appagent-base"

// CommandTimeout bounds each podman command but builds (BuildTimeout).
var (
	CommandTimeout = 5 * time.Minute
	BuildTimeout   = 15 * time.Minute
)

// podman runs a podman command with GlobalFlags.
func podman(timeout time.Duration, stdin io.Reader, args ...string) (harness.Result, error) {
	return harness.Run(timeout, stdin, nil, "podman", append(append([]string{}, GlobalFlags...), args...)...)
}

// mustPodman runs a podman command and fails t unless it exits 0.
func mustPodman(t testing.TB, timeout time.Duration, args ...string) string {
	t.Helper()
	r, err := podman(timeout, nil, args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("podman: %s: exit %d %v\n%s%s", harness.Quote("podman", args), r.Code, err, harness.Tail(r.Stdout, 40), harness.Tail(r.Stderr, 40))
	}
	return strings.TrimSpace(r.Stdout)
}

// Require skips the test in -short mode or when root, podman, runc or the nspawn harness's
// tools (for the base image) are missing; with CI=true it fails instead. It sweeps leftovers.
func Require(t testing.TB) {
	t.Helper()
	harness.Require(t, "podman", "podman", "runc", "tar", "debootstrap", "systemd-nspawn", "nsenter", "journalctl")
	nspawn.Sweep(t)
	sweep(t)
}

// BaseImage returns localhost/appagent-base:KEY, imported from nspawn.Root(pkgs) once and
// kept across runs (the import is skipped when the image exists).
func BaseImage(t testing.TB, pkgs ...string) string {
	t.Helper()
	key := nspawn.Key(pkgs...)
	name := BaseRepo + ":" + key
	if r, err := podman(CommandTimeout, nil, "image", "exists", name); err == nil && r.Code == 0 {
		t.Logf("podman: using cached base image %s", name)
		return name
	}
	unlock, err := harness.Lock(filepath.Join(harness.CacheDir, "podman-base-"+key+".lock"))
	if err != nil {
		t.Fatalf("podman: %v", err)
	}
	defer unlock()
	if r, err := podman(CommandTimeout, nil, "image", "exists", name); err == nil && r.Code == 0 {
		t.Logf("podman: using cached base image %s (imported by another test process)", name)
		return name
	}
	root := nspawn.Root(t, pkgs...)
	start := time.Now()
	t.Logf("podman: importing %s from %s", name, root)
	if err := importRoot(root, name); err != nil {
		t.Fatalf("podman: import base image %s: %v", name, err)
	}
	t.Logf("podman: imported %s in %s", name, time.Since(start).Round(time.Millisecond))
	return name
}

// importRoot runs `tar -C root -c . | podman import - name`.
func importRoot(root, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	tar := harness.Command(ctx, "tar", "--numeric-owner", "-C", root, "-c", ".")
	imp := harness.Command(ctx, "podman", append(append([]string{}, GlobalFlags...),
		"import", "--change", "STOPSIGNAL=SIGRTMIN+3", "-", name)...)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var tarErr, impOut bytes.Buffer
	tar.Stderr = &tarErr
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := harness.Start(imp); err != nil {
		return fmt.Errorf("start podman import: %w", err)
	}
	if err := harness.Start(tar); err != nil {
		_ = imp.Process.Kill()
		_ = imp.Wait()
		return fmt.Errorf("start tar: %w", err)
	}
	terr := tar.Wait()
	ierr := imp.Wait()
	if terr != nil {
		return fmt.Errorf("tar -C %s -c .: %w: %s", root, terr, harness.Tail(tarErr.String(), 10))
	}
	if ierr != nil {
		return fmt.Errorf("podman import - %s: %w: %s", name, ierr, harness.Tail(impOut.String(), 10))
	}
	return nil
}

// BuildOptions describe a test image.
type BuildOptions struct {
	// Containerfile text: "FROM {{BASE}}" (replaced by the base image) or "ARG BASE" +
	// "FROM $BASE". The appagent binary of this repository is at ./appagent in the context.
	Containerfile string
	Files         map[string]string // more files in the build context (relative path -> content; 0755 if it starts with "#!")
	Packages      []string          // packages of the base image
	Tag           string            // "" = unique test tag; either way the image is removed at cleanup
}

// Build builds an image (podman build --isolation chroot) and returns its name. The image is
// removed when the test ends.
func Build(t testing.TB, o BuildOptions) string {
	t.Helper()
	base := BaseImage(t, o.Packages...)
	bin := nspawn.Binary(t)
	od, err := harness.OwnerDir()
	if err != nil {
		t.Fatalf("podman: %v", err)
	}
	n := harness.Seq()
	ctxDir := filepath.Join(od, fmt.Sprintf("build%d", n))
	t.Cleanup(func() { _ = os.RemoveAll(ctxDir) })
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatalf("podman: %v", err)
	}
	files := map[string]string{}
	for p, c := range o.Files {
		if filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..") {
			t.Fatalf("podman: build context file %q: want a relative path inside the context", p)
		}
		files["/"+filepath.Clean(p)] = c
	}
	files["/Containerfile"] = strings.ReplaceAll(o.Containerfile, "{{BASE}}", base)
	if err := nspawn.WriteFiles(ctxDir, files); err != nil {
		t.Fatalf("podman: build context: %v", err)
	}
	if err := copyExec(bin, filepath.Join(ctxDir, "appagent")); err != nil {
		t.Fatalf("podman: build context: %v", err)
	}
	tag := o.Tag
	if tag == "" {
		tag = fmt.Sprintf("localhost/appagent-test:%s-%d", harness.Owner(), n)
	}
	t.Cleanup(func() {
		if r, err := podman(CommandTimeout, nil, "rmi", "-f", tag); err != nil || r.Code != 0 {
			t.Logf("podman: cleanup: rmi %s: exit %d %v %s", tag, r.Code, err, r.Stderr)
		}
	})
	args := []string{"build", "--isolation", "chroot", "--layers=false", "--pull=never"}
	args = append(args, Ulimits...)
	args = append(args, "--build-arg", "BASE="+base, "--label", harness.LabelOwner+"="+harness.Owner(),
		"-t", tag, "-f", filepath.Join(ctxDir, "Containerfile"), ctxDir)
	start := time.Now()
	r, err := podman(BuildTimeout, nil, args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("podman: build %s: exit %d %v\n%s\n%s", tag, r.Code, err, harness.Tail(r.Stdout, 60), harness.Tail(r.Stderr, 30))
	}
	t.Logf("podman: built %s in %s", tag, time.Since(start).Round(time.Millisecond))
	return tag
}

func copyExec(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// NewVolume creates a named volume that is removed when the test ends.
func NewVolume(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("appagent-test-%s-%d", harness.Owner(), harness.Seq())
	mustPodman(t, CommandTimeout, "volume", "create", "--label", harness.LabelOwner+"="+harness.Owner(), name)
	t.Cleanup(func() {
		if r, err := podman(CommandTimeout, nil, "volume", "rm", "-f", name); err != nil || r.Code != 0 {
			t.Logf("podman: cleanup: volume rm %s: exit %d %v %s", name, r.Code, err, r.Stderr)
		}
	})
	return name
}

// RunOptions describe `podman run`.
type RunOptions struct {
	Env      []string // KEY=VALUE (-e)
	Volume   string   // named volume or host dir (absolute path) at /data; "" = NewVolume
	ReadOnly bool     // --read-only
	Tty      bool     // -t
	Args     []string // more podman run flags; --systemd=... here replaces the default --systemd=always
	Cmd      []string // arguments after the image (the entrypoint's arguments)
}

// Container is a podman container of a test.
type Container struct {
	t    testing.TB
	Name string

	removeOnce  sync.Once
	lastJournal string // read before Stop, for the failure log
}

// hasEntries tells journalctl's output with entries from "-- No entries --" and errors.
func hasEntries(j string) bool {
	j = strings.TrimSpace(j)
	return j != "" && !strings.HasPrefix(j, "(") && !strings.Contains(j, "-- No entries --")
}

// Run starts a container detached (--systemd=always, since podman detects systemd only for
// /sbin/init-like commands, not for appagent init) and registers its removal. When the test
// failed, the cleanup logs `podman logs` and the container's journal first.
func Run(t testing.TB, image string, o RunOptions) *Container {
	t.Helper()
	vol := o.Volume
	if vol == "" {
		vol = NewVolume(t)
	}
	c := &Container{t: t, Name: fmt.Sprintf("appagent-test-%s-%d", harness.Owner(), harness.Seq())}
	args := []string{"run", "-d", "--name", c.Name, "--label", harness.LabelOwner + "=" + harness.Owner()}
	args = append(args, Ulimits...)
	hasSystemd := false
	for _, a := range o.Args {
		if strings.HasPrefix(a, "--systemd") {
			hasSystemd = true
		}
	}
	if !hasSystemd {
		args = append(args, "--systemd=always")
	}
	args = append(args, "-v", vol+":/data")
	if o.ReadOnly {
		args = append(args, "--read-only")
	}
	if o.Tty {
		args = append(args, "-t")
	}
	for _, e := range o.Env {
		args = append(args, "-e", e)
	}
	args = append(args, o.Args...)
	args = append(args, image)
	args = append(args, o.Cmd...)
	t.Cleanup(c.cleanup)
	t.Logf("podman: %s", harness.Quote("podman", args))
	mustPodman(t, CommandTimeout, args...)
	return c
}

func (c *Container) cleanup() { c.Remove() }

// Logs is `podman logs` (stdout and stderr, interleaved as podman stored them).
func (c *Container) Logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := harness.Command(ctx, "podman", append(append([]string{}, GlobalFlags...), "logs", c.Name)...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := harness.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		fmt.Fprintf(&b, "\n(podman logs %s: %v)", c.Name, err)
	}
	return b.String()
}

// Exec runs a command in the container (podman exec). err is set when podman itself failed
// (exit 125: container not running, ...) or the command could not run; a command's own
// failure is in code.
func (c *Container) Exec(args ...string) (stdout, stderr string, code int, err error) {
	r, err := podman(CommandTimeout, nil, append([]string{"exec", c.Name}, args...)...)
	if err == nil && r.Code == 125 {
		err = fmt.Errorf("podman exec %s %s: %s", c.Name, strings.Join(args, " "), strings.TrimSpace(r.Stderr))
	}
	return r.Stdout, r.Stderr, r.Code, err
}

// MustExec runs a command in the container, fails the test unless it exits 0, and returns
// stdout without surrounding white space.
func (c *Container) MustExec(args ...string) string {
	c.t.Helper()
	out, errs, code, err := c.Exec(args...)
	if err != nil || code != 0 {
		c.t.Fatalf("podman: exec in %s: %s: exit %d %v\nstdout:\n%s\nstderr:\n%s", c.Name, strings.Join(args, " "), code, err, out, errs)
	}
	return strings.TrimSpace(out)
}

// State is the container's state: running, exited, ... and its exit code.
func (c *Container) State() (status string, exitCode int, err error) {
	r, err := podman(CommandTimeout, nil, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", c.Name)
	if err != nil || r.Code != 0 {
		return "", -1, fmt.Errorf("podman inspect %s: exit %d %v %s", c.Name, r.Code, err, strings.TrimSpace(r.Stderr))
	}
	f := strings.Fields(r.Stdout)
	if len(f) != 2 {
		return "", -1, fmt.Errorf("podman inspect %s: unexpected %q", c.Name, r.Stdout)
	}
	code, _ := strconv.Atoi(f[1])
	return f[0], code, nil
}

// WaitRunning waits until `systemctl is-system-running` in the container says running or
// degraded and returns that state; it fails early when the container exits.
func (c *Container) WaitRunning(d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	state := ""
	for {
		status, code, err := c.State()
		if err != nil {
			return state, err
		}
		if status != "running" && status != "created" && status != "configured" {
			return state, fmt.Errorf("podman: container %s is %s (exit code %d) before systemd was running; podman logs:\n%s",
				c.Name, status, code, harness.Tail(c.Logs(), 30))
		}
		out, _, _, err := c.Exec("systemctl", "is-system-running")
		if err == nil {
			state = strings.TrimSpace(out)
			if state == "running" || state == "degraded" {
				return state, nil
			}
		}
		if time.Now().After(deadline) {
			jobs, _, _, _ := c.Exec("systemctl", "list-jobs", "--no-pager")
			return state, fmt.Errorf("podman: systemd in %s not running after %s (state %q); jobs:\n%s\npodman logs:\n%s",
				c.Name, d, state, jobs, harness.Tail(c.Logs(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends the container's stop signal (the image's STOPSIGNAL, as `podman stop` does) and
// waits up to d for it to exit; it returns the exit code. If it does not stop in time, Stop
// reads its journal and process list, kills it, and returns an error that shows them.
func (c *Container) Stop(d time.Duration) (int, error) {
	r, err := podman(CommandTimeout, nil, "inspect", "--format", "{{.Config.StopSignal}}", c.Name)
	sig := strings.TrimSpace(r.Stdout)
	if err != nil || r.Code != 0 || sig == "" {
		return -1, fmt.Errorf("podman inspect %s: exit %d %v %s", c.Name, r.Code, err, strings.TrimSpace(r.Stderr))
	}
	if status, code, err := c.State(); err != nil || status != "running" {
		return code, err
	}
	// Keep the journal as it was before the stop for a failure log: a volatile journal
	// (in the container's /run) is gone once the container exited.
	c.lastJournal = c.Journal(50)
	if r, err := podman(CommandTimeout, nil, "kill", "--signal", sig, c.Name); err != nil || r.Code != 0 {
		return -1, fmt.Errorf("podman kill --signal %s %s: exit %d %v %s", sig, c.Name, r.Code, err, strings.TrimSpace(r.Stderr))
	}
	deadline := time.Now().Add(d)
	for {
		status, code, err := c.State()
		if err != nil {
			return -1, err
		}
		if status != "running" && status != "stopping" {
			return code, nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	journal := c.Journal(50)
	ps, _, _, _ := c.Exec("sh", "-c", psScript)
	_, _ = podman(CommandTimeout, nil, "kill", c.Name)
	_, _ = podman(CommandTimeout, nil, "wait", c.Name)
	_, code, _ := c.State()
	return code, fmt.Errorf("podman: %s did not stop within %s of its stop signal (%s); killed (exit %d); processes left in it:\n%s\njournal:\n%s\npodman logs:\n%s",
		c.Name, d, sig, code, ps, harness.Tail(journal, 30), harness.Tail(c.Logs(), 30))
}

// psScript lists a container's processes without procps (not in a minbase root).
const psScript = `for p in /proc/[0-9]*; do [ -r $p/cmdline ] && echo "${p#/proc/} $(tr '\0' ' ' < $p/cmdline)"; done`

// Wait waits up to d for the container to exit on its own and returns its exit code.
func (c *Container) Wait(d time.Duration) (int, error) {
	r, err := podman(d, nil, "wait", c.Name)
	if err != nil {
		return -1, fmt.Errorf("podman: %s still running after %s", c.Name, d)
	}
	if r.Code != 0 {
		return -1, fmt.Errorf("podman wait %s: exit %d %s", c.Name, r.Code, strings.TrimSpace(r.Stderr))
	}
	code, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	if err != nil {
		return -1, fmt.Errorf("podman wait %s: unexpected output %q", c.Name, r.Stdout)
	}
	return code, nil
}

// Journal returns the last lines of the container's journal: from inside while it runs,
// else read from its file system (podman mount) on the host.
func (c *Container) Journal(lines int) string {
	n := strconv.Itoa(lines)
	if status, _, err := c.State(); err == nil && status == "running" {
		out, errs, code, err := c.Exec("journalctl", "--no-pager", "-o", "short-precise", "-n", n)
		if err == nil && code == 0 {
			return out
		}
		return fmt.Sprintf("(journalctl in %s: exit %d %v %s)", c.Name, code, err, errs)
	}
	r, err := podman(CommandTimeout, nil, "mount", c.Name)
	if err != nil || r.Code != 0 {
		return fmt.Sprintf("(podman mount %s: exit %d %v %s)", c.Name, r.Code, err, r.Stderr)
	}
	defer podman(CommandTimeout, nil, "unmount", c.Name)
	dir := filepath.Join(strings.TrimSpace(r.Stdout), "var/log/journal")
	j, err := harness.Run(time.Minute, nil, harness.CleanEnv, "journalctl", "--no-pager", "-o", "short-precise", "-n", n, "-D", dir)
	if err != nil || j.Code != 0 {
		return fmt.Sprintf("(journalctl -D %s: exit %d %v %s)", dir, j.Code, err, j.Stderr)
	}
	return j.Stdout
}

// Remove removes the container at once (podman rm -f); the cleanup calls it too. When the test
// has failed by then, it first logs the last lines of `podman logs` and of the journal.
func (c *Container) Remove() {
	c.removeOnce.Do(func() {
		if c.t.Failed() {
			c.t.Logf("podman: test failed; podman logs %s (last 50 lines):\n%s", c.Name, harness.Tail(c.Logs(), 50))
			j := c.Journal(50)
			if c.lastJournal != "" && !hasEntries(j) {
				j = "(read before the container was stopped; its journal was volatile)\n" + c.lastJournal
			}
			c.t.Logf("podman: container %s journal (last 50 lines):\n%s", c.Name, j)
		}
		if r, err := podman(CommandTimeout, nil, "rm", "-f", "-v", "--time", "2", c.Name); err != nil || r.Code != 0 {
			c.t.Errorf("podman: rm -f %s: exit %d %v %s", c.Name, r.Code, err, r.Stderr)
		}
	})
}
