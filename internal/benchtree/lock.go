package benchtree

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

var (
	lockOnce sync.Once
	lockErr  error
)

// Lock makes this process the only one that uses the cache's benchmark trees, volumes and
// fresh filesystems, until it exits: two runs at once unmounted and removed each other's
// filesystems in the middle of a copy. A second run gets an error that names the first.
func Lock() error {
	lockOnce.Do(func() {
		if err := os.MkdirAll(Cache, 0o755); err != nil {
			lockErr = err
			return
		}
		p := filepath.Join(Cache, "bench.lock")
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			lockErr = err
			return
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			holder, _ := os.ReadFile(p)
			lockErr = fmt.Errorf("another benchmark run (pid %s) uses %s: run one at a time (%w)", strings.TrimSpace(string(holder)), Cache, err)
			f.Close()
			return
		}
		f.Truncate(0)
		f.WriteString(fmt.Sprintln(os.Getpid()))
		// f stays open: the lock is held until the process exits.
	})
	return lockErr
}
