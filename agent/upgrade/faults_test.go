package upgrade

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/config"
)

// The fault-injection suite (issue 12): populate and upgrade run in a child process under
// strace, which kills it (SIGKILL before the call) or fails it with ENOSPC at the Nth call of
// one system call, for every N until a run completes; after each fault a restart without one
// must end in the volume an undisturbed run makes, compared on full metadata (type, 07777
// mode, owner, content, link target, hard-link identity, xattrs, file mtimes). The tree has
// several owners, setuid/setgid/sticky modes, an xattr, hard links, a symlink and a fifo.

// faultCalls are the system calls populate and upgrade make that change the volume.
var faultCalls = []string{
	"mkdirat", "openat", "write", "pwrite64", "copy_file_range", "sendfile", "fchown", "fchownat", "fchmod", "fchmodat",
	"fsetxattr", "setxattr", "utimensat", "linkat", "symlinkat", "mknodat", "renameat", "renameat2", "unlinkat",
	"fsync", "syncfs",
}

// enospcCalls are those of faultCalls that can fail for want of space.
var enospcCalls = []string{"mkdirat", "openat", "write", "pwrite64", "copy_file_range", "sendfile", "fsetxattr", "setxattr", "linkat", "symlinkat", "mknodat", "renameat", "renameat2"}

// richImage makes an image root whose volume paths have owners, special modes, an xattr,
// hard links, a symlink and a fifo, then runs Prepare on it. v2 changes modes, owners and
// types, adds and removes files and links, and raises the format with a migration.
func richImage(t *testing.T, v2 bool) string {
	t.Helper()
	root := t.TempDir()
	mk := func(p string, mode os.FileMode, uid, gid int, content string) {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Lchown(full, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("etc/app/", 0o750|os.ModeSetgid, 0, 33, "")
	mk("etc/app/a.conf", 0o640, 0, 33, "A1")
	mk("etc/app/b.conf", 0o600, 1000, 1000, "B1")
	mk("etc/app/secret", 0o600, 1000, 33, "S1")
	mk("etc/app/sub/", 0o700, 1000, 1000, "")
	mk("etc/app/sub/x.conf", 0o644, 1000, 1000, "X1")
	mk("var/lib/app/", 0o700, 1000, 1000, "")
	mk("var/lib/app/bin/", 0o755, 0, 0, "")
	mk("var/lib/app/bin/tool", 0o4755|os.ModeSetuid, 0, 0, "#!/bin/sh\n")
	mk("var/lib/app/shared/", 0o1777|os.ModeSticky, 0, 0, "")
	mk("var/lib/app/group/", 0o2775|os.ModeSetgid, 1000, 33, "")
	mk("var/lib/app/group/data", 0o664, 1000, 33, strings.Repeat("g", 70000))
	mk("var/lib/app/db/", 0o700, 1000, 1000, "")
	for i := 0; i < 6; i++ {
		mk(fmt.Sprintf("var/lib/app/db/t%d", i), 0o600, 1000, 1000, strings.Repeat(fmt.Sprint(i), 1000*(i+1)))
	}
	if err := unix.Setxattr(filepath.Join(root, "etc/app/a.conf"), "user.appagent", []byte("tagged"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "var/lib/app/db/t0"), filepath.Join(root, "var/lib/app/db/t0.link")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("a.conf", filepath.Join(root, "etc/app/current"))
	if err := unix.Mkfifo(filepath.Join(root, "var/lib/app/fifo"), 0o620); err != nil {
		t.Fatal(err)
	}
	yaml := "version: 1\nvolume:\n  paths:\n    - /etc/app\n    - /var/lib/app\n"
	if v2 {
		mk("etc/app/a.conf", 0o640, 0, 33, "A2")
		unix.Setxattr(filepath.Join(root, "etc/app/a.conf"), "user.appagent", []byte("tagged"), 0)
		mk("etc/app/b.conf", 0o640, 1000, 33, "B1") // mode and group change only
		os.Chmod(filepath.Join(root, "etc/app/secret"), 0o640)
		os.Chown(filepath.Join(root, "etc/app/secret"), 0, 33)
		os.RemoveAll(filepath.Join(root, "etc/app/sub"))
		mk("etc/app/sub", 0o644, 0, 0, "a file now") // dir -> file
		os.Remove(filepath.Join(root, "var/lib/app/db/t5"))
		os.Remove(filepath.Join(root, "var/lib/app/db/t1"))
		mk("var/lib/app/db/t1/", 0o750, 1000, 33, "") // file -> dir
		mk("var/lib/app/db/t1/inner", 0o640, 1000, 33, "inner")
		mk("var/lib/app/db/t2", 0o600, 1000, 1000, "t2 v2")
		mk("var/lib/app/new/", 0o2750|os.ModeSetgid, 1000, 33, "")
		mk("var/lib/app/new/n", 0o640, 1000, 33, "N2")
		os.Link(filepath.Join(root, "var/lib/app/new/n"), filepath.Join(root, "var/lib/app/new/n.link"))
		mk("usr/libexec/appagent/migrations/1-2", 0o755, 0, 0, "#!/bin/sh\necho m > \"$APPAGENT_VOLUME/var/lib/app/migrated\"\n")
		yaml += "  format: 2\n"
	}
	cfgPath := filepath.Join(root, "etc/appagent/appagent.yaml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o755)
	os.WriteFile(cfgPath, []byte(yaml), 0o644)
	cfg, rep := config.Parse(cfgPath, []byte(yaml))
	if rep.HasErrors() {
		t.Fatal(rep.Err())
	}
	var out bytes.Buffer
	if err := Prepare(root, cfg, &out); err != nil {
		t.Fatalf("prepare: %v\n%s", err, out.String())
	}
	return root
}

// fullSnapshot lists a volume with every piece of metadata the suite compares. Hard links
// are named by the first path of their inode; the backup's directory name (it has the time),
// the lock's content and the staging and tmp names of an interrupted run are left out.
func fullSnapshot(t *testing.T, vol string) string {
	t.Helper()
	var lines []string
	firstOf := map[uint64]string{}
	filepath.WalkDir(vol, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(vol, p)
		if rel == ".appagent/lock" || rel == ".appagent/lock.agent" {
			return nil
		}
		if strings.HasPrefix(rel, ".appagent/backup/") {
			parts := strings.SplitN(rel, "/", 4)
			parts[2] = "X"
			rel = strings.Join(parts, "/")
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s type=%o mode=%04o own=%d:%d", rel, st.Mode&unix.S_IFMT, st.Mode&0o7777, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			tg, _ := os.Readlink(p)
			line += " -> " + tg
		case unix.S_IFREG:
			data, _ := os.ReadFile(p)
			h := sha256.Sum256(data)
			line += " sha=" + hex.EncodeToString(h[:8])
			// The migration's file is made at run time; appagent's state files are rewritten.
			if !strings.HasPrefix(rel, ".appagent/") && rel != "var/lib/app/migrated" {
				line += fmt.Sprintf(" mtime=%d", st.Mtim.Sec)
			}
			if st.Nlink > 1 {
				if first, ok := firstOf[st.Ino]; ok {
					line += " link=" + first
				} else {
					firstOf[st.Ino] = rel
				}
			}
		}
		if sz, err := unix.Llistxattr(p, nil); err == nil && sz > 0 {
			buf := make([]byte, sz)
			n, _ := unix.Llistxattr(p, buf)
			names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
			sort.Strings(names)
			for _, name := range names {
				v := make([]byte, 256)
				vn, _ := unix.Lgetxattr(p, name, v)
				line += fmt.Sprintf(" xattr:%s=%q", name, v[:max(vn, 0)])
			}
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// faultRun runs the sync helper under strace with one injection into call; injected tells
// that it fired (strace marks the call INJECTED), code is the helper's exit code (-1: killed).
func faultRun(t *testing.T, root, vol, call, inject string) (injected bool, code int, out string) {
	t.Helper()
	cfg := filepath.Join(root, "etc/appagent/appagent.yaml")
	trace := filepath.Join(t.TempDir(), "trace")
	// -q, not -qq: the trace keeps "+++ killed by SIGKILL +++", which is how a kill injected
	// into a child (a migration step, or appagent confine before it) shows.
	cmd := exec.Command("strace", "-f", "-q", "-o", trace, "-e", "trace="+call, "-e", "inject="+call+":"+inject,
		os.Args[0], "-test.run=^TestSyncHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root+"|"+vol+"|"+cfg)
	b, err := cmd.CombinedOutput()
	tr, _ := os.ReadFile(trace)
	injected = bytes.Contains(tr, []byte("INJECTED")) || bytes.Contains(tr, []byte("killed by SIGKILL"))
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); (ok && ws.Signaled()) || ee.ExitCode() == 128+9 {
			return true, -1, string(b) // a signal injection leaves the call unfinished in the trace
		}
		return injected, ee.ExitCode(), string(b)
	case err != nil:
		t.Fatalf("strace: %v\n%s", err, b)
	}
	return injected, 0, string(b)
}

// faultSuite runs every injection point of every call on a fresh volume made by setup and
// compares the result of a restart with want.
func faultSuite(t *testing.T, name, root string, setup func(vol string), want string) {
	points, same := 0, 0
	var failures []string
	fail := func(f string) {
		if len(failures) < 10 {
			failures = append(failures, f)
		}
	}
	check := func(what, vol string) {
		runChild(t, root, vol)
		points++
		if d := diffLines(want, fullSnapshot(t, vol)); d != "" {
			fail(fmt.Sprintf("%s, then a restart:\n%s", what, d))
			return
		}
		same++
	}
	for _, call := range faultCalls {
		for n := 1; ; n++ {
			vol := t.TempDir()
			setup(vol)
			injected, code, out := faultRun(t, root, vol, call, fmt.Sprintf("signal=KILL:when=%d", n))
			if !injected {
				if code != 0 {
					t.Fatalf("%s: exit %d without a fault:\n%s", name, code, out)
				}
				break
			}
			check(fmt.Sprintf("killed at %s call %d", call, n), vol)
		}
	}
	for _, call := range enospcCalls {
		for n := 1; ; n++ {
			vol := t.TempDir()
			setup(vol)
			injected, code, out := faultRun(t, root, vol, call, fmt.Sprintf("error=ENOSPC:when=%d", n))
			if !injected {
				break
			}
			if code == 0 {
				// The call's failure was absorbed: the volume must be whole already.
				points++
				if d := diffLines(want, fullSnapshot(t, vol)); d != "" {
					fail(fmt.Sprintf("ENOSPC at %s call %d: exit 0, but the volume differs:\n%s", call, n, d))
					continue
				}
				same++
				continue
			}
			if !namesPath(out, vol, root) {
				fail(fmt.Sprintf("ENOSPC at %s call %d: exit %d, the error names no path on the volume:\n%s", call, n, code, out))
			}
			check(fmt.Sprintf("ENOSPC at %s call %d", call, n), vol)
		}
	}
	t.Logf("%s: %d fault points tried, %d identical to an undisturbed run after one restart", name, points, same)
	if len(failures) > 0 {
		t.Errorf("%s: %d of %d fault points differ; the first:\n%s", name, points-same, points, strings.Join(failures, "\n"))
	}
}

// namesPath: the error (the last line of the output) names a file, on the volume or in the
// image, not only the volume.
func namesPath(out, vol, root string) bool {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	for _, l := range lines {
		if strings.Contains(l, "FAIL: TestSyncHelperProcess") {
			return true // the helper's own reading of its config (not appagent's code)
		}
	}
	return strings.Contains(last, vol+"/") || strings.Contains(last, root+"/") || strings.Contains(last, "the volume "+vol+":")
}

func requireStrace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes under strace")
	}
	if _, err := exec.LookPath("strace"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("strace is missing (.ci/run installs it)")
		}
		t.Skip("strace is missing")
	}
	if os.Getuid() != 0 {
		t.Skip("the rich tree needs several owners: run as root")
	}
}

func TestFaultsPopulate(t *testing.T) {
	requireStrace(t)
	root := richImage(t, false)
	want := t.TempDir()
	runChild(t, root, want)
	faultSuite(t, "populate", root, func(string) {}, fullSnapshot(t, want))
}

func TestFaultsUpgrade(t *testing.T) {
	requireStrace(t)
	root1, root2 := richImage(t, false), richImage(t, true)
	setup := func(vol string) {
		runChild(t, root1, vol)
		write(t, vol+"/etc/app/a.conf", "A-user") // the user's edit: kept, A2 beside it
		os.Chown(vol+"/etc/app/a.conf", 0, 33)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		os.Chtimes(vol+"/etc/app/a.conf", at, at)
	}
	want := t.TempDir()
	setup(want)
	runChild(t, root2, want)
	faultSuite(t, "upgrade", root2, setup, fullSnapshot(t, want))
}
