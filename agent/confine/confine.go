package confine

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsyscall "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Scratch are the directories a confined program may write beneath besides the ones it is
// given: the container's tmpfs mounts and devices (/dev/null). None outlives the container,
// so nothing written there can change the image or the data.
var Scratch = []string{"/tmp", "/var/tmp", "/run", "/dev"}

// Command is the hidden appagent command that confines itself and execs the program.
const Command = "confine"

// ABI returns the kernel's Landlock ABI version: 0 when Landlock cannot be used here (not
// in the kernel, not enabled, or its system calls refused by the runtime's seccomp profile).
func ABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// Args is the command line that runs argv confined to writable (and Scratch), through the
// appagent binary self.
func Args(self string, writable []string, argv []string) []string {
	args := []string{self, Command}
	for _, w := range writable {
		args = append(args, "--write", w)
	}
	return append(append(args, "--"), argv...)
}

// Exec confines this process to writing beneath writable and Scratch, and execs argv with
// the environment env. It returns only on an error. Landlock's version 3 rights (write,
// create, remove, rename across directories, truncate) are restricted, the newer ones
// (device ioctls, UNIX sockets) are not: a migration may still talk to a server.
func Exec(writable []string, argv []string, env []string) error {
	if len(argv) == 0 {
		return errors.New("confine: no program to run")
	}
	prog, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("confine: %w", err)
	}
	rw := landlock.RWDirs(append(append([]string{}, writable...), Scratch...)...).WithRefer().IgnoreIfMissing()
	fd, flags, err := landlock.V3.BestEffort().NewRulesetFD(landlock.RODirs("/"), rw)
	if err != nil {
		return fmt.Errorf("confine: a Landlock ruleset for writing beneath %v: %w", writable, err)
	}
	if fd >= 0 {
		// This thread alone is restricted and then execs: go-landlock's all-threads call
		// needs syscall.AllThreadsSyscall, which a binary with purego's runtime (the journal
		// reader) does not have, and the exec'd program is this thread's anyway.
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("confine: no_new_privs: %w", err)
		}
		if err := llsyscall.LandlockRestrictSelf(fd, flags); err != nil {
			return fmt.Errorf("confine: restrict %s to writing beneath %v: %w", prog, writable, err)
		}
		unix.Close(fd)
	}
	if err := syscall.Exec(prog, argv, env); err != nil {
		return fmt.Errorf("confine: exec %s: %w", prog, err)
	}
	return nil
}
