package logfwd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The keeper keeps the container's original stdout and stderr (and other files that must stay
// open for the container's life, such as the volume lock) after `appagent init` execs systemd.
//
// Why a process: systemd closes every inherited file descriptor when it starts as PID 1, and
// once it runs, PID 1's stdout is /dev/null and (without -t) there is no /dev/console. So the
// only way to keep the container's stdout is to have another process hold it. Why an abstract
// socket: systemd mounts its own /run when the runtime did not, which would hide a socket file;
// abstract sockets live in the network namespace instead. Its name carries the inode of the PID
// namespace, so containers that share the host's network (nspawn's default, --network host)
// never meet each other's keeper.
//
// The keeper hands its stdout and stderr to any peer whose SO_PEERCRED uid is 0 and whose
// pid is visible in the keeper's PID namespace (0 means another PID namespace), and does
// nothing else: it reads no logs and stays tiny.

// KeeperOptions are the files the keeper inherits.
type KeeperOptions struct {
	// Stdout and Stderr are the container's original ones (default os.Stdout, os.Stderr).
	Stdout, Stderr *os.File
	// Hold are files kept open for the container's life (the volume lock's flock).
	Hold []*os.File
	// Console, when init made one (MakeConsole), is copied to Stdout in ConsoleFormat.
	Console       *Console
	ConsoleFormat string // "short" or "json"
	// Binary is the appagent binary to run as `appagent keeper` (default: this executable).
	Binary string
	// Timeout for the keeper to listen (default 5s).
	Timeout time.Duration
}

// keeperReady is what the keeper writes on fd 3 once it listens.
const keeperReady = "appagent-keeper-ready\n"

// envKeeperTag, when set, is added to the socket name: tests run keepers on the host, where
// parallel test processes share one PID namespace.
const envKeeperTag = "APPAGENT_KEEPER_TAG"

// keeperHello is the payload sent with the file descriptors.
const keeperHello = "appagent-keeper v1"

// KeeperSocketName is the abstract socket's name (without the leading NUL/@) for the PID
// namespace this process runs in.
func KeeperSocketName() (string, error) {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return "", fmt.Errorf("logfwd: read the pid namespace (/proc/self/ns/pid): %w", err)
	}
	// "pid:[4026531836]" -> "4026531836"
	ns = strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
	name := "appagent/keeper/" + ns
	if t := os.Getenv(envKeeperTag); t != "" {
		name += "/" + t
	}
	return name, nil
}

// StartKeeper starts `appagent keeper` in its own session with the files of o and waits until
// it listens. `appagent init` calls it as its last step before exec'ing systemd.
func StartKeeper(o KeeperOptions) error {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("logfwd: start keeper: find this executable: %w", err)
		}
		o.Binary = exe
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("logfwd: start keeper: %w", err)
	}
	defer r.Close()
	args := []string{"keeper"}
	extra := []*os.File{w}
	if o.Console != nil {
		// fd 4 the master, fd 5 the slave (held), the other held files after them.
		args = append(args, "--console-fd=4", "--console-format="+o.ConsoleFormat)
		extra = append(extra, o.Console.Master, o.Console.Slave)
	}
	cmd := exec.Command(o.Binary, args...)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = o.Stdout
	cmd.Stderr = o.Stderr
	cmd.ExtraFiles = append(extra, o.Hold...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if t := os.Getenv(envKeeperTag); t != "" {
		cmd.Env = append(cmd.Env, envKeeperTag+"="+t)
	}
	// Its own session and process group: signals for init's group do not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("logfwd: start keeper %s: %w", o.Binary, err)
	}
	w.Close()
	// Do not wait for it: after the exec, systemd (PID 1) reaps it.
	_ = cmd.Process.Release()
	_ = r.SetReadDeadline(time.Now().Add(o.Timeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	if line != keeperReady {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("logfwd: the keeper did not listen within %s", o.Timeout)
		}
		return fmt.Errorf("logfwd: the keeper ended before it listened (its error is on stderr above)")
	}
	return nil
}

// KeeperConfig is what `appagent keeper` is told on its command line.
type KeeperConfig struct {
	ConsoleFD     int    // the console's master (0: none), copied to stdout
	ConsoleFormat string // its log format: short or json
}

// RunKeeper is the keeper process (`appagent keeper`): fd 1 and 2 are the container's stdout
// and stderr, fd 3 the ready pipe, fds from 4 on are held (the console's master and slave
// first, when there is one). It returns nil when ctx is done (SIGTERM: systemd's final kill at
// shutdown must not wait for it), else only on error.
func RunKeeper(ctx context.Context, kc KeeperConfig) error {
	// SIGHUP/SIGINT/SIGPIPE are not for us; SIGTERM (systemd's final kill) ends the keeper,
	// which is fine: by then the agent has its own copy of stdout.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE, syscall.SIGQUIT)
	name, err := KeeperSocketName()
	if err != nil {
		return err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: "@" + name, Net: "unix"})
	if err != nil {
		return fmt.Errorf("logfwd: keeper: listen on abstract socket @%s: %w (is another keeper running in this container?)", name, err)
	}
	if kc.ConsoleFD > 0 {
		// The copier must already wait in read(2) when init execs systemd: a systemd that
		// cannot start writes its reason and exits within microseconds, and its exit kills
		// this process with whatever the pty still holds.
		f, err := ParseFormat(kc.ConsoleFormat)
		if err != nil {
			f = Short{}
		}
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(started)
			CopyConsole(&muteWriter{w: os.Stdout, mute: &agentHasStdout}, f, os.NewFile(uintptr(kc.ConsoleFD), "console"))
		}()
		<-started
		time.Sleep(time.Millisecond) // let it reach read(2)
	}
	var st unix.Stat_t
	if err := unix.Fstat(3, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
		ready := os.NewFile(3, "ready")
		_, _ = io.WriteString(ready, keeperReady)
		ready.Close()
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return fmt.Errorf("logfwd: keeper: accept: %w", err)
		}
		if serveKeeperConn(c) {
			agentHasStdout.Store(true)
		}
	}
}

// agentHasStdout is set once the keeper handed the stdout to the agent: from then on the
// journal reaches stdout, and systemd's console lines (its status lines at shutdown, the
// same events) would only repeat it; they are read and dropped.
var agentHasStdout atomic.Bool

// muteWriter drops writes once mute is set.
type muteWriter struct {
	w    io.Writer
	mute *atomic.Bool
}

func (m *muteWriter) Write(p []byte) (int, error) {
	if m.mute.Load() {
		return len(p), nil
	}
	return m.w.Write(p)
}

// serveKeeperConn hands stdout and stderr to a root peer of this container; it tells
// whether it did.
func serveKeeperConn(c *net.UnixConn) bool {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	cred, err := peerCred(c)
	if err != nil || cred.Uid != 0 || cred.Pid == 0 {
		// Refused: not root, or from another PID namespace.
		return false
	}
	rights := unix.UnixRights(1, 2)
	_, _, err = c.WriteMsgUnix([]byte(keeperHello), rights, nil)
	return err == nil
}

func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// ErrNoKeeper says no keeper runs in this container (systemd was started without
// `appagent init`).
var ErrNoKeeper = errors.New("no appagent keeper in this container")

// FromKeeper fetches the container's stdout and stderr from the keeper.
func FromKeeper() (stdout, stderr *os.File, err error) {
	name, err := KeeperSocketName()
	if err != nil {
		return nil, nil, err
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: "@" + name, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, nil, fmt.Errorf("%w (@%s: %v)", ErrNoKeeper, name, err)
		}
		return nil, nil, fmt.Errorf("logfwd: connect to the keeper @%s: %w", name, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(2*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, fmt.Errorf("logfwd: receive from the keeper @%s: %w", name, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, nil, fmt.Errorf("logfwd: receive from the keeper @%s: %w", name, err)
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, f...)
		}
	}
	if string(buf[:n]) != keeperHello || len(fds) != 2 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, nil, fmt.Errorf("logfwd: the keeper @%s refused this process (it serves root in its own container only) or is not appagent's", name)
	}
	for _, fd := range fds {
		// Left blocking: the file description can be shared with processes outside the
		// container (nspawn --console=pipe, podman's passthrough log driver hand over their
		// own stdout), and O_NONBLOCK would change it for them too.
		unix.CloseOnExec(fd)
	}
	return os.NewFile(uintptr(fds[0]), "container-stdout"), os.NewFile(uintptr(fds[1]), "container-stderr"), nil
}

// OpenOutput returns the container's original stdout and where it came from: from the
// keeper ("keeper"), else /dev/console when it exists (systemd started directly, e.g. under
// nspawn --console=passive or podman -t). The error says why there is neither.
func OpenOutput() (*os.File, string, error) {
	out, errf, kerr := FromKeeper()
	if kerr == nil {
		errf.Close()
		return out, "keeper", nil
	}
	// Opened blocking, not through Go's poller: a non-blocking write to a full terminal
	// returns part of the buffer, and systemd's own status lines then land inside a line.
	fd, err := syscall.Open("/dev/console", syscall.O_WRONLY|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err == nil {
		return os.NewFile(uintptr(fd), "/dev/console"), "/dev/console", nil
	}
	return nil, "", fmt.Errorf("logfwd: the container's stdout is not reachable: %v; and /dev/console: %v (start the container with `appagent init` as its entrypoint)", kerr, err)
}

// SystemdArgs returns extra arguments for the init that `appagent init` execs. When the
// container has a terminal (podman/docker run -t), systemd would print its status lines
// ("[  OK  ] Started ...") on that terminal, and the forwarder prints the same events from the
// journal: so systemd's status output is turned off and every line appears once, as without -t.
// The same holds for the console init makes when there is no terminal (MakeConsole).
func SystemdArgs(init string, stdout *os.File, console *Console) []string {
	if console == nil && (stdout == nil || !isTerminal(stdout)) {
		return nil
	}
	target, err := filepath.EvalSymlinks(init)
	if err != nil || filepath.Base(target) != "systemd" {
		return nil
	}
	return []string{"--show-status=no"}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
