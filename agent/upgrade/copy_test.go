package upgrade

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// copyData on one filesystem (copy_file_range), from tmpfs to another filesystem (EXDEV:
// sendfile, as from an image's template to a volume) and through read/write: every byte, for
// empty, small, odd-sized and multi-buffer files, and no byte of a file that shrank.
func TestCopyDataPaths(t *testing.T) {
	other := "/dev/shm"
	if st, err := os.Stat(other); err != nil || !st.IsDir() {
		t.Fatalf("this test needs a tmpfs at %s (a second filesystem): %v", other, err)
	}
	srcDirs := map[string]string{"same filesystem": t.TempDir()}
	shm, err := os.MkdirTemp(other, "appagent-copytest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	srcDirs["another filesystem"] = shm
	dstDir := t.TempDir()
	sizes := []int{0, 1, 4095, 256*1024 + 17, 3 << 20}
	copiers := map[string]func(sfd, dst int, size int64) (int64, error){"copyData": copyData, "copySendfile": copySendfile, "copyRW": copyRW}
	for where, sdir := range srcDirs {
		for cname, cp := range copiers {
			for _, n := range sizes {
				data := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
				src := filepath.Join(sdir, "f")
				if err := os.WriteFile(src, data, 0o644); err != nil {
					t.Fatal(err)
				}
				dst := filepath.Join(dstDir, "out")
				os.Remove(dst)
				sfd, _ := unix.Open(src, unix.O_RDONLY, 0)
				dfd, _ := unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
				got, err := cp(sfd, dfd, int64(n))
				unix.Close(sfd)
				unix.Close(dfd)
				out, _ := os.ReadFile(dst)
				if err != nil || got != int64(n) || !bytes.Equal(out, data) {
					t.Errorf("%s, %s, %d bytes: copied %d (%d read back), %v", where, cname, n, got, len(out), err)
				}
				// A file that shrank after it was measured is copied as it now is.
				os.Remove(dst)
				sfd, _ = unix.Open(src, unix.O_RDONLY, 0)
				dfd, _ = unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
				got, err = cp(sfd, dfd, int64(n)+100)
				unix.Close(sfd)
				unix.Close(dfd)
				if err != nil || got != int64(n) {
					t.Errorf("%s, %s, %d bytes asked %d: copied %d, %v", where, cname, n, n+100, got, err)
				}
			}
		}
	}
}

// byDepth runs every path once, a level only after the levels before it ended (parents before
// children, or children before parents), and stops at the first error.
func TestByDepth(t *testing.T) {
	paths := []string{"a", "a/b", "a/b/c", "a/d", "e", "e/f", "e/f/g/h", "a/b/c/i"}
	for _, deepestFirst := range []bool{false, true} {
		var mu sync.Mutex
		var order []string
		err := byDepth(len(paths), func(i int) string { return paths[i] }, deepestFirst, 3, func(i int) error {
			mu.Lock()
			order = append(order, paths[i])
			mu.Unlock()
			return nil
		})
		if err != nil || len(order) != len(paths) {
			t.Fatalf("deepestFirst %v: %v %v", deepestFirst, order, err)
		}
		for k := 1; k < len(order); k++ {
			a, b := strings.Count(order[k-1], "/"), strings.Count(order[k], "/")
			if (!deepestFirst && a > b) || (deepestFirst && a < b) {
				t.Errorf("deepestFirst %v: %q ran before %q: %v", deepestFirst, order[k-1], order[k], order)
			}
		}
	}
	var ran atomic.Int32
	boom := errors.New("boom")
	err := byDepth(len(paths), func(i int) string { return paths[i] }, false, 2, func(i int) error {
		ran.Add(1)
		if paths[i] == "a/b" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() > 4 { // levels 0 and 1 at most: 2 + 2
		t.Errorf("error: %v after %d calls", err, ran.Load())
	}
}
