package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	// CacheDir keeps what is expensive to make and keyed by its inputs (debootstrap roots).
	// It lives outside the repository and survives runs.
	CacheDir = "/var/cache/appagent-test"
	// WorkDir holds one directory per test process (see OwnerDir); whatever a crashed run
	// left there is removed by the next run's sweep.
	WorkDir = "/var/tmp/appagent-test"
	// LabelOwner is the podman label (and state file key) naming the test process that made
	// a resource, as an owner id (see Owner).
	LabelOwner = "appagent-test.owner"
)

// Owner is the id of this test process: "p<pid>-<start time in clock ticks>". The start time
// tells a live owner from a later process that got the same pid.
func Owner() string {
	ownerOnce.Do(func() {
		st, err := StartTime(os.Getpid())
		if err != nil {
			st = 0
		}
		owner = fmt.Sprintf("p%d-%d", os.Getpid(), st)
	})
	return owner
}

var (
	ownerOnce sync.Once
	owner     string
	seq       atomic.Int64
)

// Seq returns a number unique within this process, for names of containers, images and dirs.
func Seq() int64 { return seq.Add(1) }

// OwnerDir is this process's directory under WorkDir (created on first use).
func OwnerDir() (string, error) {
	d := filepath.Join(WorkDir, Owner())
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("harness: create work dir %s: %w (tests that boot containers run as root)", d, err)
	}
	return d, nil
}

// StartTime reads a process's start time (field 22 of /proc/PID/stat, clock ticks since boot).
func StartTime(pid int) (uint64, error) {
	st, _, err := stat(pid)
	return st, err
}

// stat reads a process's start time and state (R, S, Z, ...) from /proc/PID/stat.
func stat(pid int) (start uint64, state string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	// The command name (field 2) is in parentheses and may contain spaces: split after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("harness: unexpected /proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, "", fmt.Errorf("harness: short /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0], err
}

// Alive reports whether the process pid still runs and is the one that started at start.
// A zombie is not alive: it only waits for its parent to reap it.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, state, err := stat(pid)
	return err == nil && st == start && state != "Z" && state != "X"
}

// ParseOwner splits an owner id made by Owner; ok is false for other names.
func ParseOwner(id string) (pid int, start uint64, ok bool) {
	rest, found := strings.CutPrefix(id, "p")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	p, err1 := strconv.Atoi(a)
	s, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || p <= 0 {
		return 0, 0, false
	}
	return p, s, true
}

// OwnerAlive reports whether the test process named by an owner id still runs.
func OwnerAlive(id string) bool {
	pid, start, ok := ParseOwner(id)
	return ok && Alive(pid, start)
}
