// Package engine drives a container engine's command line (podman, docker) for tests: base
// images imported from the cached debootstrap roots, builds, volumes, runs, exec, logs, stop
// and cleanup, with every resource labelled by its owner test process.
//
// What differs between engines (global flags, build and run defaults, how an exec reports that
// the container is gone) is data in Engine; the packages testing/podman and testing/docker
// fill it in. Nothing here knows appagent: the integration tests say what to check.
package engine

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

// Engine is one container engine's command line and its defaults.
type Engine struct {
	Name   string   // "podman", "docker": the binary and the prefix of messages
	Global []string // flags before every subcommand
	Env    []string // extra environment of every command (nil: the test process's)
	// BaseRepo is the repository of the base images imported from nspawn roots, tagged by
	// nspawn.Key.
	BaseRepo string
	// ImportChanges are --change options of `import` (docker refuses STOPSIGNAL there).
	ImportChanges []string
	// BuildFlags go after `build` (isolation, layers, ulimits).
	BuildFlags []string
	// RunFlags returns the flags `run` needs on this engine for o (systemd mode, tmpfs,
	// cgroups, ulimits), before o.Args.
	RunFlags func(o RunOptions) []string
	// ExecGone tells, from a finished exec, that the engine (not the command) failed:
	// the container is not running, or the engine could not start the command.
	ExecGone func(r harness.Result) bool
	// RemoveFlags go after `rm` (-f -v, and a stop timeout where the engine has one).
	RemoveFlags []string

	CommandTimeout time.Duration // each command but builds and imports
	BuildTimeout   time.Duration
}

func (e *Engine) env() []string {
	if e.Env == nil {
		return nil
	}
	return append(os.Environ(), e.Env...)
}

// Cmd runs an engine command with the global flags and a deadline.
func (e *Engine) Cmd(timeout time.Duration, stdin io.Reader, args ...string) (harness.Result, error) {
	return harness.Run(timeout, stdin, e.env(), e.Name, append(append([]string{}, e.Global...), args...)...)
}

// Must runs an engine command and fails t unless it exits 0; it returns stdout trimmed.
func (e *Engine) Must(t testing.TB, args ...string) string {
	t.Helper()
	r, err := e.Cmd(e.CommandTimeout, nil, args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("%s: %s: exit %d %v\n%s%s", e.Name, harness.Quote(e.Name, args), r.Code, err, harness.Tail(r.Stdout, 40), harness.Tail(r.Stderr, 40))
	}
	return strings.TrimSpace(r.Stdout)
}

// ImageExists tells whether the engine has an image of that name.
func (e *Engine) ImageExists(name string) bool {
	r, err := e.Cmd(e.CommandTimeout, nil, "image", "inspect", "--format", "{{.Id}}", name)
	return err == nil && r.Code == 0
}

// BaseImage returns BaseRepo:KEY, imported from nspawn.Root(pkgs) once and kept across
// runs (the import is skipped when the image exists).
func (e *Engine) BaseImage(t testing.TB, pkgs ...string) string {
	t.Helper()
	key := nspawn.Key(pkgs...)
	name := e.BaseRepo + ":" + key
	if e.ImageExists(name) {
		t.Logf("%s: using cached base image %s", e.Name, name)
		return name
	}
	unlock, err := harness.Lock(filepath.Join(harness.CacheDir, e.Name+"-base-"+key+".lock"))
	if err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	defer unlock()
	if e.ImageExists(name) {
		t.Logf("%s: using cached base image %s (imported by another test process)", e.Name, name)
		return name
	}
	root := nspawn.Root(t, pkgs...)
	start := time.Now()
	t.Logf("%s: importing %s from %s", e.Name, name, root)
	if err := e.importRoot(root, name); err != nil {
		t.Fatalf("%s: import base image %s: %v", e.Name, name, err)
	}
	t.Logf("%s: imported %s in %s", e.Name, name, time.Since(start).Round(time.Millisecond))
	return name
}

// importRoot runs `tar -C root -c . | ENGINE import - name`.
func (e *Engine) importRoot(root, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.BuildTimeout)
	defer cancel()
	tar := harness.Command(ctx, "tar", "--numeric-owner", "-C", root, "-c", ".")
	args := append(append([]string{}, e.Global...), "import")
	for _, c := range e.ImportChanges {
		args = append(args, "--change", c)
	}
	imp := harness.Command(ctx, e.Name, append(args, "-", name)...)
	imp.Env = e.env()
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var tarErr, impOut bytes.Buffer
	tar.Stderr = &tarErr
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := harness.Start(imp); err != nil {
		return fmt.Errorf("start %s import: %w", e.Name, err)
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
		return fmt.Errorf("%s import - %s: %w: %s", e.Name, name, ierr, harness.Tail(impOut.String(), 10))
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

// TestRepo is the repository of the images tests build.
const TestRepo = "localhost/appagent-test"

// Context writes a build context for o (the Containerfile, o.Files and the appagent binary)
// into a directory of this test process and returns it; it is removed when the test ends.
func (e *Engine) Context(t testing.TB, o BuildOptions) string {
	t.Helper()
	base := e.BaseImage(t, o.Packages...)
	bin := nspawn.Binary(t)
	od, err := harness.OwnerDir()
	if err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	ctxDir := filepath.Join(od, fmt.Sprintf("build%d", harness.Seq()))
	t.Cleanup(func() { _ = os.RemoveAll(ctxDir) })
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	files := map[string]string{}
	for p, c := range o.Files {
		if filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..") {
			t.Fatalf("%s: build context file %q: want a relative path inside the context", e.Name, p)
		}
		files["/"+filepath.Clean(p)] = c
	}
	files["/Containerfile"] = strings.ReplaceAll(o.Containerfile, "{{BASE}}", base)
	if err := nspawn.WriteFiles(ctxDir, files); err != nil {
		t.Fatalf("%s: build context: %v", e.Name, err)
	}
	if err := copyExec(bin, filepath.Join(ctxDir, "appagent")); err != nil {
		t.Fatalf("%s: build context: %v", e.Name, err)
	}
	return ctxDir
}

// Build builds an image and returns its name. The image is removed when the test ends.
func (e *Engine) Build(t testing.TB, o BuildOptions) string {
	t.Helper()
	base := e.BaseImage(t, o.Packages...)
	ctxDir := e.Context(t, o)
	tag := o.Tag
	if tag == "" {
		tag = fmt.Sprintf("%s:%s-%d", TestRepo, harness.Owner(), harness.Seq())
	}
	e.RemoveImageAtCleanup(t, tag)
	args := append([]string{"build"}, e.BuildFlags...)
	args = append(args, "--build-arg", "BASE="+base, "--label", harness.LabelOwner+"="+harness.Owner(),
		"-t", tag, "-f", filepath.Join(ctxDir, "Containerfile"), ctxDir)
	start := time.Now()
	r, err := e.Cmd(e.BuildTimeout, nil, args...)
	if err == nil && r.Code != 0 && runcTransient(r.Stdout+r.Stderr) {
		// Debian 12's runc copies itself into a sealed memfd for every RUN step, and that
		// seal failed once with EBUSY in CI (a RUN step, not the image, failed); once more.
		t.Logf("%s: build %s: runc could not seal its memfd copy (EBUSY); building again", e.Name, tag)
		r, err = e.Cmd(e.BuildTimeout, nil, args...)
	}
	if err != nil || r.Code != 0 {
		t.Fatalf("%s: build %s: exit %d %v\n%s\n%s", e.Name, tag, r.Code, err, harness.Tail(r.Stdout, 60), harness.Tail(r.Stderr, 30))
	}
	t.Logf("%s: built %s in %s", e.Name, tag, time.Since(start).Round(time.Millisecond))
	return tag
}

// runcTransient tells runc's "Close_Fd sealing memfd copy: Device or resource busy", a
// failure of the runtime's own start, not of the build step it was starting.
func runcTransient(out string) bool {
	return strings.Contains(out, "sealing memfd copy: Device or resource busy")
}

// RemoveImageAtCleanup removes the image tag when the test ends (an image a test made some
// other way than Build, such as docker-compose).
func (e *Engine) RemoveImageAtCleanup(t testing.TB, tag string) {
	t.Cleanup(func() {
		if !e.ImageExists(tag) {
			return
		}
		if r, err := e.Cmd(e.CommandTimeout, nil, "rmi", "-f", tag); err != nil || r.Code != 0 {
			t.Logf("%s: cleanup: rmi %s: exit %d %v %s", e.Name, tag, r.Code, err, r.Stderr)
		}
	})
}

func copyExec(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// NewVolume creates a named volume that is removed when the test ends.
func (e *Engine) NewVolume(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("appagent-test-%s-%d", harness.Owner(), harness.Seq())
	e.Must(t, "volume", "create", "--label", harness.LabelOwner+"="+harness.Owner(), name)
	t.Cleanup(func() {
		if r, err := e.Cmd(e.CommandTimeout, nil, "volume", "rm", "-f", name); err != nil || r.Code != 0 {
			t.Logf("%s: cleanup: volume rm %s: exit %d %v %s", e.Name, name, r.Code, err, r.Stderr)
		}
	})
	return name
}

// NewNetwork creates an internal network (a subnet of its own, no route out of it, names
// resolved between its containers) that is removed when the test ends, after its containers
// (cleanups run last-registered first, and containers are made after the network).
func (e *Engine) NewNetwork(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("appagent-test-%s-%d", harness.Owner(), harness.Seq())
	e.Must(t, "network", "create", "--internal", "--label", harness.LabelOwner+"="+harness.Owner(), name)
	t.Cleanup(func() {
		if r, err := e.Cmd(e.CommandTimeout, nil, "network", "rm", "-f", name); err != nil || r.Code != 0 {
			t.Logf("%s: cleanup: network rm %s: exit %d %v %s", e.Name, name, r.Code, err, r.Stderr)
		}
	})
	e.allowWithinBridge(t, name)
	return name
}

// RunOptions describe `run`.
type RunOptions struct {
	Env      []string // KEY=VALUE (-e)
	Volume   string   // named volume or host dir (absolute path) at /data; "" = NewVolume; "-" = none
	ReadOnly bool     // --read-only
	Tty      bool     // -t
	Args     []string // more run flags (the engine's defaults come first; see Engine.RunFlags)
	// NoDefaults leaves out Engine.RunFlags: for tests of what a run with fewer flags does.
	NoDefaults bool
	// Global are engine flags for this run only, before `run` (podman --hooks-dir DIR).
	Global []string
	Cmd    []string // arguments after the image (the entrypoint's arguments)
}

// HasFlag tells whether args hold the flag name (as "--name" or "--name=value").
func HasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// Container is a container of a test.
type Container struct {
	e    *Engine
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

// Run starts a container detached and registers its removal. When the test failed, the
// cleanup logs the container's logs and its journal first.
func (e *Engine) Run(t testing.TB, image string, o RunOptions) *Container {
	t.Helper()
	vol := o.Volume
	if vol == "" {
		vol = e.NewVolume(t)
	}
	c := &Container{e: e, t: t, Name: fmt.Sprintf("appagent-test-%s-%d", harness.Owner(), harness.Seq())}
	args := []string{"run", "-d", "--name", c.Name, "--label", harness.LabelOwner + "=" + harness.Owner()}
	if e.RunFlags != nil && !o.NoDefaults {
		args = append(args, e.RunFlags(o)...)
	}
	if vol != "-" {
		args = append(args, "-v", vol+":/data")
	}
	if o.ReadOnly {
		args = append(args, "--read-only")
	}
	if o.Tty {
		args = append(args, "-t")
	}
	for _, env := range o.Env {
		args = append(args, "-e", env)
	}
	args = append(args, o.Args...)
	args = append(args, image)
	args = append(args, o.Cmd...)
	t.Cleanup(c.Remove)
	args = append(append([]string{}, o.Global...), args...)
	t.Logf("%s: %s", e.Name, harness.Quote(e.Name, args))
	e.Must(t, args...)
	return c
}

// Attach is a handle on a container the test made another way (podman kube play): exec, logs
// and journal as for Run's, and removed at cleanup, its logs shown when the test failed.
func (e *Engine) Attach(t testing.TB, name string) *Container {
	c := &Container{e: e, t: t, Name: name}
	t.Cleanup(c.Remove)
	return c
}

// Logs is the container's logs (stdout and stderr, interleaved as the engine stored them).
func (c *Container) Logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), c.e.CommandTimeout)
	defer cancel()
	cmd := harness.Command(ctx, c.e.Name, append(append([]string{}, c.e.Global...), "logs", c.Name)...)
	cmd.Env = c.e.env()
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := harness.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		fmt.Fprintf(&b, "\n(%s logs %s: %v)", c.e.Name, c.Name, err)
	}
	return b.String()
}

// Exec runs a command in the container. err is set when the engine itself failed (the
// container is not running, ...) or the command could not run; a command's own failure is
// in code.
func (c *Container) Exec(args ...string) (stdout, stderr string, code int, err error) {
	r, err := c.e.Cmd(c.e.CommandTimeout, nil, append([]string{"exec", c.Name}, args...)...)
	if err == nil && c.e.ExecGone != nil && c.e.ExecGone(r) {
		err = fmt.Errorf("%s exec %s %s: exit %d: %s", c.e.Name, c.Name, strings.Join(args, " "), r.Code, strings.TrimSpace(r.Stderr))
	}
	return r.Stdout, r.Stderr, r.Code, err
}

// MustExec runs a command in the container, fails the test unless it exits 0, and returns
// stdout without surrounding white space.
func (c *Container) MustExec(args ...string) string {
	c.t.Helper()
	out, errs, code, err := c.Exec(args...)
	if err != nil || code != 0 {
		c.t.Fatalf("%s: exec in %s: %s: exit %d %v\nstdout:\n%s\nstderr:\n%s", c.e.Name, c.Name, strings.Join(args, " "), code, err, out, errs)
	}
	return strings.TrimSpace(out)
}

// Inspect returns `inspect --format FORMAT` of the container, trimmed.
func (c *Container) Inspect(format string) (string, error) {
	r, err := c.e.Cmd(c.e.CommandTimeout, nil, "inspect", "--format", format, c.Name)
	if err != nil || r.Code != 0 {
		return "", fmt.Errorf("%s inspect %s: exit %d %v %s", c.e.Name, c.Name, r.Code, err, strings.TrimSpace(r.Stderr))
	}
	return strings.TrimSpace(r.Stdout), nil
}

// State is the container's state: running, exited, ... and its exit code.
func (c *Container) State() (status string, exitCode int, err error) {
	out, err := c.Inspect("{{.State.Status}} {{.State.ExitCode}}")
	if err != nil {
		return "", -1, err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", -1, fmt.Errorf("%s inspect %s: unexpected %q", c.e.Name, c.Name, out)
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
			return state, fmt.Errorf("%s: container %s is %s (exit code %d) before systemd was running; logs:\n%s",
				c.e.Name, c.Name, status, code, harness.Tail(c.Logs(), 30))
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
			return state, fmt.Errorf("%s: systemd in %s not running after %s (state %q); jobs:\n%s\nlogs:\n%s",
				c.e.Name, c.Name, d, state, jobs, harness.Tail(c.Logs(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends the container's stop signal (the image's STOPSIGNAL, as `stop` does) and waits
// up to d for it to exit; it returns the exit code. If it does not stop in time, Stop reads
// its journal and process list, kills it, and returns an error that shows them.
func (c *Container) Stop(d time.Duration) (int, error) {
	sig, err := c.Inspect("{{.Config.StopSignal}}")
	if err != nil {
		return -1, err
	}
	if sig == "" {
		sig = "SIGTERM" // what `stop` sends when the image names none
	}
	if status, code, err := c.State(); err != nil || status != "running" {
		return code, err
	}
	// Keep the journal as it was before the stop for a failure log: a volatile journal
	// (in the container's /run) is gone once the container exited.
	c.lastJournal = c.Journal(50)
	if r, err := c.e.Cmd(c.e.CommandTimeout, nil, "kill", "--signal", sig, c.Name); err != nil || r.Code != 0 {
		return -1, fmt.Errorf("%s kill --signal %s %s: exit %d %v %s", c.e.Name, sig, c.Name, r.Code, err, strings.TrimSpace(r.Stderr))
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
	_, _ = c.e.Cmd(c.e.CommandTimeout, nil, "kill", c.Name)
	_, _ = c.e.Cmd(c.e.CommandTimeout, nil, "wait", c.Name)
	_, code, _ := c.State()
	return code, fmt.Errorf("%s: %s did not stop within %s of its stop signal (%s); killed (exit %d); processes left in it:\n%s\njournal:\n%s\nlogs:\n%s",
		c.e.Name, c.Name, d, sig, code, ps, harness.Tail(journal, 30), harness.Tail(c.Logs(), 30))
}

// psScript lists a container's processes without procps (not in a minbase root).
const psScript = `for p in /proc/[0-9]*; do [ -r $p/cmdline ] && echo "${p#/proc/} $(tr '\0' ' ' < $p/cmdline)"; done`

// Wait waits up to d for the container to exit on its own and returns its exit code.
func (c *Container) Wait(d time.Duration) (int, error) {
	r, err := c.e.Cmd(d, nil, "wait", c.Name)
	if err != nil {
		return -1, fmt.Errorf("%s: %s still running after %s", c.e.Name, c.Name, d)
	}
	if r.Code != 0 {
		return -1, fmt.Errorf("%s wait %s: exit %d %s", c.e.Name, c.Name, r.Code, strings.TrimSpace(r.Stderr))
	}
	code, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	if err != nil {
		return -1, fmt.Errorf("%s wait %s: unexpected output %q", c.e.Name, c.Name, r.Stdout)
	}
	return code, nil
}

// Journal returns the last lines of the container's journal: from inside while it runs,
// else copied out of the stopped container (`cp`) and read on the host.
func (c *Container) Journal(lines int) string {
	n := strconv.Itoa(lines)
	if status, _, err := c.State(); err == nil && status == "running" {
		out, errs, code, err := c.Exec("journalctl", "--no-pager", "-o", "short-precise", "-n", n)
		if err == nil && code == 0 {
			return out
		}
		return fmt.Sprintf("(journalctl in %s: exit %d %v %s)", c.Name, code, err, errs)
	}
	dir, err := os.MkdirTemp("", "appagent-journal-")
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer os.RemoveAll(dir)
	if r, err := c.e.Cmd(c.e.CommandTimeout, nil, "cp", c.Name+":/var/log/journal", dir); err != nil || r.Code != 0 {
		return fmt.Sprintf("(%s cp %s:/var/log/journal: exit %d %v %s)", c.e.Name, c.Name, r.Code, err, strings.TrimSpace(r.Stderr))
	}
	j, err := harness.Run(time.Minute, nil, harness.CleanEnv, "journalctl", "--no-pager", "-o", "short-precise", "-n", n, "-D", filepath.Join(dir, "journal"))
	if err != nil || j.Code != 0 {
		return fmt.Sprintf("(journalctl -D: exit %d %v %s)", j.Code, err, j.Stderr)
	}
	return j.Stdout
}

// Remove removes the container at once; the cleanup calls it too. When the test has failed
// by then, it first logs the last lines of the container's logs and of its journal.
func (c *Container) Remove() {
	c.removeOnce.Do(func() {
		if c.t.Failed() {
			c.t.Logf("%s: test failed; %s logs %s (last 50 lines):\n%s", c.e.Name, c.e.Name, c.Name, harness.Tail(c.Logs(), 50))
			j := c.Journal(50)
			if c.lastJournal != "" && !hasEntries(j) {
				j = "(read before the container was stopped; its journal was volatile)\n" + c.lastJournal
			}
			c.t.Logf("%s: container %s journal (last 50 lines):\n%s", c.e.Name, c.Name, j)
		}
		args := append(append([]string{"rm"}, c.e.RemoveFlags...), c.Name)
		// podman 4.3 can fail the first removal of a container that exited in a user
		// namespace ("unlinkat …/userdata/shm: device or resource busy"); a second one works.
		var r harness.Result
		var err error
		for try := 0; try < 3; try++ {
			if r, err = c.e.Cmd(c.e.CommandTimeout, nil, args...); err == nil && r.Code == 0 {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		c.t.Errorf("%s: rm -f %s: exit %d %v %s", c.e.Name, c.Name, r.Code, err, r.Stderr)
	})
}
