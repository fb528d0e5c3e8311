package upgrade

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// populate fills an empty volume from the template. Each listed path is built under
// .appagent/staging/<n> and renamed into place when complete, so after a kill -9 a listed
// path on the volume is either whole or absent; the next run removes the staging area and
// copies what is absent. Directories are made first, then files, symlinks and special files
// are copied by parallel workers (one directory per job, so each worker opens a directory
// once for all its files), then hard links, then the directories' owner, mode and times
// (children change a directory's mtime), then one syncfs before the renames.
func populate(v *vfs, tmpl string, m *Manifest, pr *progress) error {
	if err := v.removeAll(dirStaging); err != nil {
		return fmt.Errorf("cleaning %s: %w", v.abs(dirStaging), err)
	}
	if err := v.mkdir(dirStaging, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", v.abs(dirStaging), err)
	}
	src := func(rel string) string { return filepath.Join(tmpl, filepath.FromSlash(rel)) }

	// Which listed paths are still to do, and where each is staged.
	stage := map[string]string{} // listed path -> staging dir
	var todo []string
	for i, p := range m.Paths {
		if m.Get(p) == nil {
			continue // optional and absent in the image: nothing to copy
		}
		st, err := v.lstat(p)
		if err == nil {
			// Renamed into place by an interrupted run: complete, if it is what the image
			// has there (a symlink planted at a listed path is not).
			if want := m.Get(p).Type; typeOf(st.Mode) != want {
				return fmt.Errorf("%s is a %s on the volume where the image has a %s, and the volume is being populated: it was not made by appagent; remove it, then start again: %w",
					v.abs(p), typeOf(st.Mode), want, errBlocked)
			}
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%s: %w", v.abs(p), err)
		}
		stage[p] = dirStaging + "/" + strconv.Itoa(i)
		todo = append(todo, p)
	}
	rootOf := func(rel string) string {
		for r := rel; r != ""; r = parentOf(r) {
			if _, ok := stage[r]; ok {
				return r
			}
		}
		return ""
	}
	staged := func(rel string) string {
		r := rootOf(rel)
		return stage[r] + rel[len(r):]
	}

	// Parents of listed paths live directly on the volume.
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Type != TypeDir || m.listedRoot(e.Path) != "" {
			continue
		}
		st, err := v.lstat(e.Path)
		switch {
		case err == nil && typeOf(st.Mode) != TypeDir:
			return fmt.Errorf("%s is a %s on the volume where the image has a directory: %w", v.abs(e.Path), typeOf(st.Mode), errBlocked)
		case err == nil:
			// Made by an interrupted run, which may have been killed before its owner and
			// mode were set (mkdir makes it 0700): the volume was empty when population
			// began, so its parents are appagent's, and their metadata is set again.
		case errors.Is(err, unix.ENOENT):
			if err := v.mkdir(e.Path, 0o700); err != nil {
				return fmt.Errorf("creating %s: %w", v.abs(e.Path), err)
			}
		default:
			return fmt.Errorf("%s: %w", v.abs(e.Path), err)
		}
		if err := v.at(e.Path, func(dfd int, name string) error { return setDirMetaAt(src(e.Path), dfd, name) }); err != nil {
			return fmt.Errorf("directory %s: %w", v.abs(e.Path), err)
		}
	}

	type item struct {
		rel, dst string
		e        *Entry
	}
	var dirs, links []item
	groups := map[string][]item{}
	for i := range m.Entries {
		e := &m.Entries[i]
		if rootOf(e.Path) == "" {
			continue
		}
		it := item{rel: e.Path, dst: staged(e.Path), e: e}
		switch {
		case e.Type == TypeDir:
			dirs = append(dirs, it)
		case e.Link != "":
			links = append(links, it)
		default:
			d := parentOf(it.dst)
			groups[d] = append(groups[d], it)
		}
	}

	workers := 2 * runtime.NumCPU()
	if workers < 4 {
		workers = 4
	}
	// Directories level by level, parents first; a level's directories in parallel.
	if err := byDepth(len(dirs), func(i int) string { return dirs[i].dst }, false, workers, func(i int) error {
		if err := v.mkdir(dirs[i].dst, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", v.abs(dirs[i].dst), err)
		}
		pr.add(0)
		return nil
	}); err != nil {
		return err
	}

	work := make(chan []item)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for items := range work {
				dir := parentOf(items[0].dst)
				dfd, err := v.open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
				if err != nil {
					fail(fmt.Errorf("opening %s: %w", v.abs(dir), err))
					continue
				}
				for _, it := range items {
					n, err := copyEntryAt(src(it.rel), it.e.Type, dfd, path.Base(it.dst))
					if err != nil && err != errSkip {
						fail(fmt.Errorf("copying %s to %s: %w", src(it.rel), v.abs(it.dst), err))
						break
					}
					pr.add(n)
				}
				unix.Close(dfd)
			}
		}()
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		items := groups[k]
		for len(items) > 0 { // big directories are split so that workers share them
			n := min(len(items), 256)
			work <- items[:n]
			items = items[n:]
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}

	for _, l := range links {
		target := l.e.Link
		if rootOf(target) != "" {
			target = staged(target)
		}
		err := v.link(target, l.dst)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EMLINK) {
			// The link's first member is gone, on another filesystem or has too many links:
			// a copy. Any other error (ENOSPC) is one: a silent copy would lose the link.
			err = v.at(l.dst, func(dfd int, name string) error {
				_, err := copyEntryAt(src(l.rel), l.e.Type, dfd, name)
				return err
			})
		}
		if err != nil {
			return fmt.Errorf("hard link %s: %w", v.abs(l.dst), err)
		}
		pr.add(0)
	}

	// Children before parents (a directory made read-only would refuse a non-root run its
	// children), a level's directories in parallel.
	if err := byDepth(len(dirs), func(i int) string { return dirs[i].dst }, true, workers, func(i int) error {
		d := dirs[i]
		if err := v.at(d.dst, func(dfd int, name string) error { return setDirMetaAt(src(d.rel), dfd, name) }); err != nil {
			return fmt.Errorf("directory %s: %w", v.abs(d.dst), err)
		}
		return nil
	}); err != nil {
		return err
	}

	// Data and metadata reach the disk before a listed path appears in place.
	pr.flushing()
	if err := v.syncfs(); err != nil {
		return err
	}
	for _, p := range todo {
		if err := v.rename(stage[p], p); err != nil {
			return fmt.Errorf("moving %s into place at %s: %w", v.abs(stage[p]), v.abs(p), err)
		}
	}
	if len(todo) > 0 {
		if err := v.at(todo[0], func(dfd int, _ string) error { return fsyncDir(dfd) }); err != nil {
			return fmt.Errorf("syncing the directory of %s: %w", v.abs(todo[0]), err)
		}
	}
	return v.removeAll(dirStaging)
}

// byDepth runs f for the n paths pathOf names, level by level of their depth (shallowest
// first, or deepest with deepestFirst), the paths of one level on up to workers goroutines.
// A level starts when the one before it ended; the first error ends the run. The 2,800
// directories of a 27,000-file tree took two serial passes of a population before.
func byDepth(n int, pathOf func(int) string, deepestFirst bool, workers int, f func(int) error) error {
	levels := map[int][]int{}
	var depths []int
	for i := 0; i < n; i++ {
		d := strings.Count(pathOf(i), "/")
		if _, ok := levels[d]; !ok {
			depths = append(depths, d)
		}
		levels[d] = append(levels[d], i)
	}
	sort.Ints(depths)
	if deepestFirst {
		slices.Reverse(depths)
	}
	for _, d := range depths {
		idx := levels[d]
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			first   error
			next    int
			nworker = min(workers, len(idx))
		)
		for w := 0; w < nworker; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					if first != nil || next == len(idx) {
						mu.Unlock()
						return
					}
					i := idx[next]
					next++
					mu.Unlock()
					if err := f(i); err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if first != nil {
			return first
		}
	}
	return nil
}
