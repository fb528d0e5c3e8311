package preflight

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/appagent/appagent/agent/environ"
	"golang.org/x/sys/unix"
)

// System is everything the checks read. Host returns the real one; tests fill in fakes, so
// every decision can be tested without a container.
type System struct {
	// ReadFile reads /proc/self/mountinfo, /proc/self/status, /proc/self/cgroup, /proc/locks
	// and configuration files.
	ReadFile func(path string) ([]byte, error)
	// Getenv reads the container's environment (PID 1's: init's own, or /proc/1/environ for
	// doctor, which runs under `exec` with another environment).
	Getenv func(name string) string
	// Stat is os.Stat (follows symlinks).
	Stat func(path string) (fs.FileInfo, error)
	// Lstat is os.Lstat, for files on the volume: a planted symlink is reported, never
	// followed out of the volume (nil: Stat, in tests that have no links).
	Lstat func(path string) (fs.FileInfo, error)
	// Access tells whether path could be written (access(2) W_OK: EROFS for a read-only mount).
	Access func(path string) error
	// Probe creates and removes a file in dir: the only proof that a volume takes writes
	// (ownership and user namespaces make access(2) unreliable).
	Probe func(dir string) error
	// Free returns the bytes available to unprivileged users and the total size of the
	// filesystem holding path.
	Free func(path string) (avail, total uint64, err error)
	// Hostname is os.Hostname.
	Hostname func() (string, error)
	// Glob is filepath.Glob.
	Glob func(pattern string) ([]string, error)
	// MountNamespace tries to start a process in a new mount namespace (nil: not probed).
	MountNamespace func() error
}

// Host returns the System of this process. env reads the container's environment; nil means
// os.Getenv (right for init, which is PID 1).
func Host(env func(string) string) *System {
	if env == nil {
		env = os.Getenv
	}
	return &System{
		ReadFile: os.ReadFile,
		Getenv:   env,
		Stat:     os.Stat,
		Lstat:    os.Lstat,
		Access:   func(p string) error { return unix.Access(p, unix.W_OK) },
		Probe:    probe,
		Free: func(p string) (uint64, uint64, error) {
			var st unix.Statfs_t
			if err := unix.Statfs(p, &st); err != nil {
				return 0, 0, err
			}
			return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
		},
		Hostname:       os.Hostname,
		Glob:           filepath.Glob,
		MountNamespace: mountNamespace,
	}
}

// PID1Env reads the environment of PID 1 (the container's, as the runtime gave it: init execs
// systemd with it unchanged). It returns nil when /proc/1/environ cannot be read.
func PID1Env() func(string) string {
	env, err := environ.ReadMap(environ.PID1)
	if err != nil {
		return nil
	}
	return func(name string) string { return env[name] }
}

// mountNamespace starts a process in a new mount namespace (this binary, printing its help
// to nowhere): the same clone(CLONE_NEWNS) systemd makes for a sandboxed unit, refused
// without CAP_SYS_ADMIN or by a seccomp profile.
func mountNamespace() error {
	cmd := exec.Command("/proc/self/exe", "help")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return err
	}
	_ = cmd.Wait() // its exit status does not matter: the clone succeeded
	return nil
}

func probe(dir string) error {
	name := filepath.Join(dir, fmt.Sprintf(".appagent-preflight-%d", os.Getpid()))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(name)
}

// Exists tells whether path can be stat()ed.
func (s *System) Exists(path string) bool {
	_, err := s.Stat(path)
	return err == nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
