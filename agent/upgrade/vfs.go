package upgrade

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// vfs is the one audited way into the volume. The volume is untrusted input (a user, an older
// image or an attacker may have planted symlinks or odd file types in it), so:
//
//   - every path is relative to a directory fd of the volume's root, and must be clean and
//     free of "..";
//   - resolution never follows a symlink, in the middle of the path or at its end: openat2
//     with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, or, on kernels before
//     5.6, a walk of openat(O_NOFOLLOW) one component at a time;
//   - the last component is always handled with *at calls that do not follow it
//     (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW, unlinkat, renameat).
//
// A path whose parent on the volume is a symlink or not a directory gives errBlocked.
// filepath-securejoin's SecureJoin would instead resolve such a link inside the root; for the
// volume we want "refuse", because following a planted link even inside the volume would
// write the image's files where the user did not put them.
type vfs struct {
	path    string // the volume's path, for messages only
	root    int    // O_PATH directory fd of the volume root
	openat2 bool
}

// errBlocked: a parent of the path on the volume is a symlink or not a directory.
var errBlocked = errors.New("a parent directory on the volume is a symlink or not a directory")

func openVFS(dir string) (*vfs, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the volume %s: %w (is the volume mounted?)", dir, err)
	}
	v := &vfs{path: dir, root: fd, openat2: true}
	probe, err := unix.Openat2(fd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		v.openat2 = false // ENOSYS before Linux 5.6, EPERM under some seccomp profiles
	} else {
		unix.Close(probe)
	}
	return v, nil
}

func (v *vfs) Close() error { return unix.Close(v.root) }

// abs is the path of rel for messages. Names come from the volume's manifest and the
// volume itself: one with a newline or a control character could end a message line and
// start a fake one ("appagent: …"), so such a path is quoted (Go syntax), others are not.
func (v *vfs) abs(rel string) string {
	p := v.join(rel)
	if needsQuote(p) {
		return strconv.Quote(p)
	}
	return p
}

// join is the path of rel, for the processes appagent starts (a migration's APPAGENT_BACKUP).
func (v *vfs) join(rel string) string {
	if rel == "" || rel == "." {
		return v.path
	}
	return strings.TrimSuffix(v.path, "/") + "/" + rel
}

func needsQuote(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// checkRel refuses paths that are not clean, relative and free of "..". Paths come from
// manifests, and the volume's manifest is untrusted too.
func checkRel(rel string) error {
	if rel == "" || rel == "." {
		return nil
	}
	if path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("path %q is not a clean relative path inside the volume", rel)
	}
	return nil
}

// open opens rel beneath the root without following any symlink.
func (v *vfs) open(rel string, flags int, mode uint32) (int, error) {
	if err := checkRel(rel); err != nil {
		return -1, err
	}
	if rel == "" {
		rel = "."
	}
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if v.openat2 {
		how := &unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		for {
			fd, err := unix.Openat2(v.root, rel, how)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			return fd, err
		}
	}
	// Fallback walk: each component with O_NOFOLLOW.
	parts := strings.Split(rel, "/")
	dfd := v.root
	for _, p := range parts[:len(parts)-1] {
		nfd, err := unix.Openat(dfd, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if dfd != v.root {
			unix.Close(dfd)
		}
		if err != nil {
			return -1, err
		}
		dfd = nfd
	}
	fd, err := unix.Openat(dfd, parts[len(parts)-1], flags, mode)
	if dfd != v.root {
		unix.Close(dfd)
	}
	return fd, err
}

// parent opens rel's parent directory (O_PATH) and returns it with rel's last component.
// The caller closes the fd. A symlink or non-directory in the way gives errBlocked.
func (v *vfs) parent(rel string) (int, string, error) {
	if err := checkRel(rel); err != nil {
		return -1, "", err
	}
	if rel == "" || rel == "." {
		return -1, "", fmt.Errorf("the volume root has no parent")
	}
	dir, name := path.Split(rel)
	fd, err := v.open(strings.TrimSuffix(dir, "/"), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		// Every error names the path: a bare errno here reached users as "no space left on
		// device" or "a parent directory … is a symlink" with no file to look at.
		if err == unix.ELOOP || err == unix.ENOTDIR || err == unix.EXDEV {
			return -1, "", fmt.Errorf("%s (opening %s): %w", v.abs(rel), v.abs(strings.TrimSuffix(dir, "/")), errBlocked)
		}
		return -1, "", &fs.PathError{Op: "open", Path: v.abs(strings.TrimSuffix(dir, "/")), Err: err}
	}
	return fd, name, nil
}

// at runs f with rel's parent fd and last component.
func (v *vfs) at(rel string, f func(dfd int, name string) error) error {
	dfd, name, err := v.parent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return f(dfd, name)
}

// lstat returns rel's stat without following it. A missing path gives ENOENT; a blocked
// parent gives errBlocked.
func (v *vfs) lstat(rel string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if rel == "" || rel == "." {
		return st, unix.Fstat(v.root, &st)
	}
	err := v.at(rel, func(dfd int, name string) error {
		return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	return st, err
}

// exists tells whether rel exists (any type); errors other than "missing" are returned.
func (v *vfs) exists(rel string) (bool, error) {
	_, err := v.lstat(rel)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return false, err
}

func (v *vfs) readlink(rel string) (string, error) {
	var target string
	err := v.at(rel, func(dfd int, name string) error {
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(dfd, name, buf)
		if err != nil {
			return err
		}
		target = string(buf[:n])
		return nil
	})
	return target, err
}

// hashFile returns the sha256 of the regular file rel (never following a link).
func (v *vfs) hashFile(rel string) (string, error) {
	fd, err := v.open(rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), v.abs(rel))
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", fmt.Errorf("%s is not a regular file", v.abs(rel))
	}
	return hashReader(f)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256*1024); return &b }}

func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if _, err := io.CopyBuffer(h, r, *bp); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readSmall reads a small state file; a missing file gives ("", nil).
func (v *vfs) readSmall(rel string, max int64) ([]byte, error) {
	f, _, err := v.openSmall(rel, max)
	if f == nil || err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", v.abs(rel), err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes; it is not appagent's", v.abs(rel), max)
	}
	return data, nil
}

// openSmall opens a state file for reading after checking that it is a regular file of at
// most max bytes; a missing file gives (nil, 0, nil).
func (v *vfs) openSmall(rel string, max int64) (*os.File, int64, error) {
	// Never open a device or fifo planted on the volume (opening some devices acts).
	if st, err := v.lstat(rel); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, 0, fmt.Errorf("%s is not a regular file; remove it", v.abs(rel))
	}
	fd, err := v.open(rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", v.abs(rel), err)
	}
	f := os.NewFile(uintptr(fd), v.abs(rel))
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file; remove it", v.abs(rel))
	}
	if st.Size > max { // refused before a byte is read: a sparse file costs nothing
		f.Close()
		return nil, 0, fmt.Errorf("%s is %d bytes, more than the %d this state file may have; it is damaged (move it aside, docs/volume.md)", v.abs(rel), st.Size, max)
	}
	return f, st.Size, nil
}

// writeFileAtomic replaces rel with data: temp file in the same directory, fsync, rename,
// fsync the directory.
func (v *vfs) writeFileAtomic(rel string, data []byte, perm uint32) error {
	err := v.at(rel, func(dfd int, name string) error {
		tmp := "." + name + tmpSuffix
		_ = unix.Unlinkat(dfd, tmp, 0)
		fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), tmp)
		if _, err := f.Write(data); err != nil {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
			return err
		}
		f.Close()
		if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
			unix.Unlinkat(dfd, tmp, 0)
			return err
		}
		return fsyncDir(dfd)
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", v.abs(rel), err)
	}
	return nil
}

func fsyncDir(dfd int) error {
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fsync(fd)
}

// mkdir creates rel (one level) with mode; an existing directory is fine.
func (v *vfs) mkdir(rel string, mode uint32) error {
	return v.at(rel, func(dfd int, name string) error {
		err := unix.Mkdirat(dfd, name, mode)
		if err == unix.EEXIST {
			var st unix.Stat_t
			if e := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); e == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return nil
			}
			return fmt.Errorf("%s exists and is not a directory; move it away, then start again", v.abs(rel))
		}
		if err != nil {
			return &fs.PathError{Op: "mkdir", Path: v.abs(rel), Err: err}
		}
		return nil
	})
}

// pathErr names rel in a failed call's error (nil stays nil).
func (v *vfs) pathErr(op, rel string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: v.abs(rel), Err: err}
}

func (v *vfs) unlink(rel string) error {
	return v.at(rel, func(dfd int, name string) error { return v.pathErr("unlink", rel, unix.Unlinkat(dfd, name, 0)) })
}

func (v *vfs) rmdir(rel string) error {
	return v.at(rel, func(dfd int, name string) error {
		return v.pathErr("rmdir", rel, unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR))
	})
}

func (v *vfs) rename(from, to string) error {
	return v.at(from, func(fd1 int, n1 string) error {
		return v.at(to, func(fd2 int, n2 string) error {
			if err := unix.Renameat(fd1, n1, fd2, n2); err != nil {
				return &os.LinkError{Op: "rename", Old: v.abs(from), New: v.abs(to), Err: err}
			}
			return nil
		})
	})
}

func (v *vfs) link(from, to string) error {
	return v.at(from, func(fd1 int, n1 string) error {
		return v.at(to, func(fd2 int, n2 string) error {
			if err := unix.Linkat(fd1, n1, fd2, n2, 0); err != nil {
				return &os.LinkError{Op: "link", Old: v.abs(from), New: v.abs(to), Err: err}
			}
			return nil
		})
	})
}

// removeAll removes rel and everything below it without following symlinks. A missing path
// is fine.
func (v *vfs) removeAll(rel string) error {
	err := v.at(rel, func(dfd int, name string) error { return removeAllAt(dfd, name) })
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	var pe *fs.PathError
	if err != nil && !errors.As(err, &pe) {
		err = v.pathErr("remove", rel, err)
	}
	return err
}

func removeAllAt(dfd int, name string) error {
	err := unix.Unlinkat(dfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	for {
		names, rerr := f.Readdirnames(512)
		for _, n := range names {
			if err := removeAllAt(fd, n); err != nil {
				f.Close()
				return err
			}
		}
		if rerr != nil {
			break
		}
	}
	f.Close()
	err = unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
	if err == unix.ENOENT {
		return nil
	}
	return err
}

// mkdirAll creates rel and its missing parents, each with mode 0755 unless meta gives the
// template's metadata for it (then it is applied from the template).
func (v *vfs) mkdirAll(rel string, made func(rel string) error) error {
	if rel == "" || rel == "." {
		return nil
	}
	if st, err := v.lstat(rel); err == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
		return fmt.Errorf("%s: %w", v.abs(rel), errBlocked)
	} else if !errors.Is(err, unix.ENOENT) {
		return err
	}
	if dir := path.Dir(rel); dir != "." {
		if err := v.mkdirAll(dir, made); err != nil {
			return err
		}
	}
	if err := v.mkdir(rel, 0o700); err != nil {
		return err
	}
	if made != nil {
		return made(rel)
	}
	return nil
}

const tmpSuffix = ".appagent-tmp"

// syncfs flushes the volume's filesystem (one call instead of an fsync per file).
func (v *vfs) syncfs() error {
	fd, err := v.open("", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: v.path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", v.path, err)
	}
	return nil
}
