package nspawn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

// SigRTMin3 is SIGRTMIN+3 as systemd and glibc number it (glibc's SIGRTMIN is 34): the
// signal that makes systemd as PID 1 halt the container cleanly.
const SigRTMin3 = syscall.Signal(34 + 3)

// Options describe one container. The zero value boots the plain root with appagent init.
type Options struct {
	Packages []string          // extra Debian packages in the root (part of the cache key)
	Files    map[string]string // container path -> content (0755 if it starts with "#!", else 0644); /etc/appagent/appagent.yaml goes here
	// Setup edits the container's writable root (host path) before boot, after Files.
	Setup   func(t testing.TB, root string)
	Prepare bool   // run `appagent prepare --root ROOT` after Files and Setup
	Root    string // reuse the writable root of an earlier container of the same test (image "kept"); "" = fresh copy
	Volume  string // host dir bound at /data; "" = a fresh temp dir
	Init    []string
	// Env is KEY=VALUE for PID 1 (nspawn --setenv).
	Env []string
	// Console is nspawn's --console mode. "" means "read-only": a pseudo TTY like "passive",
	// but forwarded to Output as it is written ("passive" shows the output only after the
	// container exited, and a full TTY buffer can block the container's writers); "pipe"
	// connects PID 1's stdout to Output directly, like `podman run` without -t.
	Console   string
	ExtraArgs []string // more systemd-nspawn flags
}

// DefaultInit is PID 1 when Options.Init is empty.
var DefaultInit = []string{"/usr/bin/appagent", "init"}

// ExecTimeout bounds each Exec; a command still running then is killed with its process group.
var ExecTimeout = 5 * time.Minute

// Container is one booted systemd-nspawn container.
type Container struct {
	t       testing.TB
	dir     string // resource dir under the owner dir (removed at cleanup)
	root    string // writable root (host path)
	volume  string
	machine string

	cmd    *exec.Cmd
	leader int // PID 1 of the container, as seen from the host
	lstart uint64
	out    *syncBuffer
	done   chan struct{}
	code   int // nspawn's exit code, valid once done is closed

	cleanOnce   sync.Once
	lastJournal string // read before a kill, for the failure log
}

// psScript lists a container's processes without procps (not in a minbase root).
const psScript = `for p in /proc/[0-9]*; do [ -r $p/cmdline ] && echo "${p#/proc/} $(tr '\0' ' ' < $p/cmdline)"; done`

// Boot prepares a writable root (an overlay over Root(Options.Packages) unless Options.Root
// is given), installs the appagent binary at /usr/bin/appagent and Options.Files, runs
// Options.Setup and, if asked, `appagent prepare`, and starts systemd-nspawn. It returns once
// the container's PID 1 runs; use WaitRunning to wait for systemd. The cleanup registered on t
// logs the container's journal and console when the test failed, stops or kills the container
// and removes its mounts and directories.
func Boot(t testing.TB, o Options) *Container {
	t.Helper()
	Sweep(t)
	bin := Binary(t)
	od, err := harness.OwnerDir()
	if err != nil {
		t.Fatalf("nspawn: %v", err)
	}
	n := harness.Seq()
	c := &Container{
		t:       t,
		dir:     filepath.Join(od, fmt.Sprintf("c%d", n)),
		machine: fmt.Sprintf("aat-%d-%d", os.Getpid(), n),
		out:     &syncBuffer{},
		done:    make(chan struct{}),
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatalf("nspawn: %v", err)
	}
	_ = os.WriteFile(filepath.Join(c.dir, "machine"), []byte(c.machine+"\n"), 0o644)
	t.Cleanup(c.cleanup)

	if o.Root != "" {
		c.root = o.Root
	} else {
		lower := Root(t, o.Packages...)
		c.root = filepath.Join(c.dir, "root")
		for _, d := range []string{"root", "upper", "work"} {
			if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
				t.Fatalf("nspawn: %v", err)
			}
		}
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work"))
		if err := syscall.Mount("overlay", c.root, "overlay", 0, opts); err != nil {
			t.Fatalf("nspawn: mount overlay on %s (%s): %v", c.root, opts, err)
		}
	}

	c.volume = o.Volume
	if c.volume == "" {
		c.volume = filepath.Join(c.dir, "volume")
		if err := os.MkdirAll(c.volume, 0o755); err != nil {
			t.Fatalf("nspawn: %v", err)
		}
	}

	if err := copyFile(bin, filepath.Join(c.root, "usr/bin/appagent"), 0o755); err != nil {
		t.Fatalf("nspawn: install appagent: %v", err)
	}
	if err := WriteFiles(c.root, o.Files); err != nil {
		t.Fatalf("nspawn: %v", err)
	}
	if o.Setup != nil {
		o.Setup(t, c.root)
	}
	if o.Prepare {
		r, err := harness.Run(2*time.Minute, nil, nil, bin, "prepare", "--root", c.root)
		if err != nil || r.Code != 0 {
			t.Fatalf("nspawn: appagent prepare --root %s: exit %d %v\nstdout:\n%s\nstderr:\n%s", c.root, r.Code, err, r.Stdout, r.Stderr)
		}
	}

	console := o.Console
	if console == "" {
		console = "read-only"
	}
	args := []string{"-q", "-D", c.root, "--register=no", "--keep-unit", "--console=" + console,
		"--bind=" + c.volume + ":/data", "--kill-signal=SIGRTMIN+3", "--machine=" + c.machine}
	for _, e := range o.Env {
		args = append(args, "--setenv="+e)
	}
	args = append(args, o.ExtraArgs...)
	init := o.Init
	if len(init) == 0 {
		init = DefaultInit
	}
	args = append(args, "--")
	args = append(args, init...)

	logf, err := os.Create(filepath.Join(c.dir, "console.log"))
	if err != nil {
		t.Fatalf("nspawn: %v", err)
	}
	c.cmd = exec.Command("systemd-nspawn", args...)
	c.cmd.Stdin = nil
	c.cmd.Stdout = io.MultiWriter(c.out, logf)
	c.cmd.Stderr = c.cmd.Stdout
	// Own process group: cleanup kills it whole. Pdeathsig: if this test process dies
	// (e.g. killed by go test -timeout, which runs no cleanup), nspawn gets SIGTERM and,
	// with --kill-signal, halts the container; the next run's sweep catches the rest.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	t.Logf("nspawn: %s", harness.Quote("systemd-nspawn", args))
	if err := harness.Start(c.cmd); err != nil {
		logf.Close()
		t.Fatalf("nspawn: start systemd-nspawn: %v", err)
	}
	_ = harness.RecordProc(c.dir, c.cmd.Process.Pid, true)
	go func() {
		err := c.cmd.Wait()
		c.code = harness.ExitCode(c.cmd, err)
		logf.Close()
		close(c.done)
	}()

	if err := c.findLeader(15 * time.Second); err != nil {
		t.Fatalf("nspawn: %v\nconsole:\n%s", err, harness.Tail(c.Output(), 40))
	}
	// Record the leader first in the file order for the sweep: it is killed before nspawn.
	_ = harness.RecordProc(c.dir, c.leader, false)
	return c
}

// findLeader waits for nspawn's child in a new pid namespace: the container's PID 1.
func (c *Container) findLeader(d time.Duration) error {
	nspid := c.cmd.Process.Pid
	myns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", nspid))
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("systemd-nspawn exited %d before the container started", c.code)
		default:
		}
		for _, child := range children(nspid) {
			ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", child))
			if err == nil && ns != myns {
				st, err := harness.StartTime(child)
				if err == nil {
					c.leader, c.lstart = child, st
					return nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no container leader under systemd-nspawn pid %d after %s", nspid, d)
}

// children lists the direct children of pid (all its threads' children).
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Root is the host path of the container's writable root.
func (c *Container) Root() string { return c.root }

// Volume is the host path of the container's /data.
func (c *Container) Volume() string { return c.volume }

// Leader is the host pid of the container's PID 1.
func (c *Container) Leader() int { return c.leader }

// Output is what the container wrote to its console/stdout so far (nspawn's stdout+stderr).
func (c *Container) Output() string { return c.out.String() }

// Exited reports whether systemd-nspawn has exited, and its exit code then.
func (c *Container) Exited() (bool, int) {
	select {
	case <-c.done:
		return true, c.code
	default:
		return false, 0
	}
}

// Exec runs a command inside the running container (nsenter into all its namespaces) with a
// clean environment. err is set when the command could not run (container gone, nsenter
// failed to start, ExecTimeout); the command's own failure is in code.
func (c *Container) Exec(args ...string) (stdout, stderr string, code int, err error) {
	if len(args) == 0 {
		return "", "", -1, errors.New("nspawn: Exec needs a command")
	}
	if exited, ec := c.Exited(); exited {
		return "", "", -1, fmt.Errorf("nspawn: exec %s: container has exited (code %d)", harness.Quote(args[0], args[1:]), ec)
	}
	nargs := append([]string{"-t", strconv.Itoa(c.leader), "-a", "--"}, args...)
	r, err := harness.Run(ExecTimeout, nil, harness.CleanEnv, "nsenter", nargs...)
	return r.Stdout, r.Stderr, r.Code, err
}

// MustExec runs a command inside the container and fails the test unless it exits 0; it
// returns stdout without surrounding white space.
func (c *Container) MustExec(args ...string) string {
	c.t.Helper()
	out, errs, code, err := c.Exec(args...)
	if err != nil || code != 0 {
		c.t.Fatalf("nspawn: in container: %s: exit %d %v\nstdout:\n%s\nstderr:\n%s",
			harness.Quote(args[0], args[1:]), code, err, out, errs)
	}
	return strings.TrimSpace(out)
}

// WaitRunning waits until `systemctl is-system-running` says running or degraded and returns
// that state. On timeout, or when the container exits first, it returns the last state seen
// and an error that says what was still going on.
func (c *Container) WaitRunning(d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	state := ""
	for {
		if exited, code := c.Exited(); exited {
			return state, fmt.Errorf("nspawn: container exited with code %d before systemd was running; console:\n%s",
				code, harness.Tail(c.Output(), 30))
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
			return state, fmt.Errorf("nspawn: systemd not running after %s (state %q); jobs:\n%s\nconsole:\n%s",
				d, state, jobs, harness.Tail(c.Output(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends SIGRTMIN+3 to the container's PID 1 (systemd halts) and waits up to d for
// systemd-nspawn to exit; it returns nspawn's exit code (the container's exit status). If the
// container does not stop in time it is killed and an error says so.
func (c *Container) Stop(d time.Duration) (int, error) {
	if exited, code := c.Exited(); exited {
		return code, nil
	}
	// Keep the journal as it was before the stop for a failure log: a volatile journal
	// (in the container's /run) is gone once the container exited.
	c.lastJournal = c.Journal(50)
	if harness.Alive(c.leader, c.lstart) {
		if err := syscall.Kill(c.leader, SigRTMin3); err != nil && err != syscall.ESRCH {
			return -1, fmt.Errorf("nspawn: signal PID 1 (host pid %d): %w", c.leader, err)
		}
	}
	select {
	case <-c.done:
		return c.code, nil
	case <-time.After(d):
		// The journal lives in the container's /run (volatile) or is not flushed yet: read
		// it while the container is still there, it says what blocked the shutdown.
		c.lastJournal = c.Journal(50)
		ps, _, _, _ := c.Exec("sh", "-c", psScript)
		c.Kill()
		return c.code, fmt.Errorf("nspawn: container did not stop within %s of SIGRTMIN+3; killed (exit %d); processes left in it:\n%s\njournal:\n%s\nconsole:\n%s",
			d, c.code, ps, harness.Tail(c.lastJournal, 30), harness.Tail(c.Output(), 30))
	}
}

// Wait waits up to d for the container to exit on its own and returns nspawn's exit code.
func (c *Container) Wait(d time.Duration) (int, error) {
	select {
	case <-c.done:
		return c.code, nil
	case <-time.After(d):
		return -1, fmt.Errorf("nspawn: container still running after %s", d)
	}
}

// Kill kills the container at once: SIGKILL to its PID 1 (which takes its whole pid
// namespace down) and to nspawn's process group, then waits for nspawn to exit.
func (c *Container) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	if exited, _ := c.Exited(); exited {
		return
	}
	if harness.Alive(c.leader, c.lstart) {
		_ = syscall.Kill(c.leader, syscall.SIGKILL)
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.t.Errorf("nspawn: systemd-nspawn pid %d still there 15 s after SIGKILL", c.cmd.Process.Pid)
	}
}

// Journal returns the last lines of the container's journal: from inside while it runs,
// else read from its root's /var/log/journal on the host.
func (c *Container) Journal(lines int) string {
	n := strconv.Itoa(lines)
	if exited, _ := c.Exited(); !exited && c.leader > 0 {
		out, errs, code, err := c.Exec("journalctl", "--no-pager", "-o", "short-precise", "-n", n)
		if err == nil && code == 0 {
			return out
		}
		if err != nil {
			return fmt.Sprintf("(journalctl inside failed: %v %s)", err, errs)
		}
	}
	dir := filepath.Join(c.root, "var/log/journal")
	r, err := harness.Run(time.Minute, nil, harness.CleanEnv, "journalctl", "--no-pager", "-o", "short-precise", "-n", n, "-D", dir)
	if err != nil || r.Code != 0 {
		return fmt.Sprintf("(journalctl -D %s: exit %d %v %s)", dir, r.Code, err, r.Stderr)
	}
	return r.Stdout
}

func (c *Container) cleanup() {
	c.cleanOnce.Do(func() {
		t := c.t
		if t.Failed() && c.cmd != nil {
			t.Logf("nspawn: test failed; container %s console (last 50 lines):\n%s", c.machine, harness.Tail(c.Output(), 50))
			j := c.Journal(50)
			if exited, _ := c.Exited(); exited && c.lastJournal != "" && !hasEntries(j) {
				j = "(read before the container was stopped; its journal was volatile)\n" + c.lastJournal
			}
			t.Logf("nspawn: container %s journal (last 50 lines):\n%s", c.machine, j)
		}
		if c.cmd != nil {
			if exited, _ := c.Exited(); !exited {
				if _, err := c.Stop(10 * time.Second); err != nil {
					first, _, _ := strings.Cut(err.Error(), "\n")
					t.Logf("%s", first)
				}
			}
		}
		_ = os.RemoveAll(filepath.Join("/run/systemd/nspawn/propagate", c.machine))
		if err := harness.RemoveDir(c.dir); err != nil {
			t.Errorf("nspawn: cleanup: %v", err)
		}
	})
}

// hasEntries tells journalctl's output with entries from "-- No entries --" and errors.
func hasEntries(j string) bool {
	j = strings.TrimSpace(j)
	return j != "" && !strings.HasPrefix(j, "(") && !strings.Contains(j, "-- No entries --")
}

// WriteFiles writes files (container path -> content) into root: mode 0755 when the content
// starts with "#!", else 0644; parent directories are created 0755.
func WriteFiles(root string, files map[string]string) error {
	for p, content := range files {
		clean := filepath.Clean(p)
		if !filepath.IsAbs(p) || clean != p {
			return fmt.Errorf("file path %q: want a clean absolute path (no .., no ./, no trailing /)", p)
		}
		hp := filepath.Join(root, clean)
		if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		_ = os.Remove(hp)
		if err := os.WriteFile(hp, []byte(content), mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Chmod(hp, mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
