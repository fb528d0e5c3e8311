package diff

import (
	"io"
	"os/exec"
	"testing"
	"time"
)

// timeFind runs `find ROOT -xdev -printf` (type, mode, owner, size, mtime, path) n times.
func timeFind(b *testing.B, root string, n int) time.Duration {
	b.Helper()
	var total time.Duration
	for i := 0; i < n; i++ {
		cmd := exec.Command("find", root, "-xdev", "-printf", "%y %m %U %G %s %T@ %p\n")
		cmd.Stdout = io.Discard
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Logf("find: %v (ignored: unreadable entries)", err)
		}
		total += time.Since(start)
	}
	return total
}
