package diff

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Walker walks a root directory in parallel and returns the metadata of every entry.
type Walker struct {
	// Root is the directory that stands for / ("/" in a container, an image root in tests).
	Root string
	// Skip tells whether a path (absolute inside Root) is left out, with everything below it.
	Skip func(p string) bool
	// Workers bounds the directories read at once (default 2×GOMAXPROCS, at least 4).
	Workers int

	mu      sync.Mutex
	entries []Entry
	errs    []error
	wg      sync.WaitGroup
	sem     chan struct{}
}

// Walk returns every entry below Root (Root itself excluded), sorted by path, and the
// problems met on the way (unreadable directories): those are reported, not fatal, because a
// diff that stops at the first unreadable directory helps nobody.
func (w *Walker) Walk() ([]Entry, []error) {
	n := w.Workers
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	w.sem = make(chan struct{}, n)
	w.wg.Add(1)
	go w.dir("/")
	w.wg.Wait()
	sortEntries(w.entries)
	return w.entries, w.errs
}

func (w *Walker) host(p string) string {
	if p == "/" {
		return w.Root
	}
	return path.Join(w.Root, p)
}

func (w *Walker) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

// dir reads one directory (the path inside Root) and starts a goroutine per subdirectory.
func (w *Walker) dir(p string) {
	defer w.wg.Done()
	w.sem <- struct{}{}
	local, subdirs, err := w.read(p)
	<-w.sem
	if err != nil {
		w.fail(err)
	}
	w.mu.Lock()
	w.entries = append(w.entries, local...)
	w.mu.Unlock()
	for _, d := range subdirs {
		w.wg.Add(1)
		go w.dir(d)
	}
}

func (w *Walker) read(p string) (local []Entry, subdirs []string, err error) {
	fd, err := unix.Open(w.host(p), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil, nil // vanished while walking
		}
		return nil, nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	for _, name := range names {
		cp := p + "/" + name // p is clean and name has no slash: no path.Join (Clean) per entry
		if p == "/" {
			cp = "/" + name
		}
		if w.Skip != nil && w.Skip(cp) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				w.fail(fmt.Errorf("stat %s: %w", cp, err))
			}
			continue
		}
		e := Entry{Path: cp, Type: typeOf(st.Mode), Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid,
			Size: st.Size, MTime: st.Mtim.Nano()}
		switch e.Type {
		case Symlink:
			e.Link, err = readlinkat(fd, name, int(st.Size))
			if err != nil {
				w.fail(fmt.Errorf("readlink %s: %w", cp, err))
			}
		case Dir:
			e.Size = 0 // a directory's size depends on the filesystem, not on its content
			subdirs = append(subdirs, cp)
		}
		local = append(local, e)
	}
	return local, subdirs, nil
}

func readNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return names, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

func readlinkat(fd int, name string, size int) (string, error) {
	buf := make([]byte, max(size+1, 128))
	for {
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

func typeOf(mode uint32) Type {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return Dir
	case unix.S_IFLNK:
		return Symlink
	case unix.S_IFCHR:
		return Char
	case unix.S_IFBLK:
		return Block
	case unix.S_IFIFO:
		return FIFO
	case unix.S_IFSOCK:
		return Socket
	}
	return File
}
