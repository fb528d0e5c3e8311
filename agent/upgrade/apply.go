package upgrade

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// applier carries out an upgrade plan. Every file it puts on the volume is written under a
// temporary name in the same directory and renamed into place, so a kill -9 at any moment
// leaves either the old or the new version, never half of one.
type applier struct {
	v      *vfs
	tmpl   string // template tree (host path)
	new    *Manifest
	backup string // relative backup dir
	pr     *progress
	warn   func(format string, a ...any)
	placed map[string]bool // paths written by this run (hard links can point at them)
}

func (a *applier) src(rel string) string { return filepath.Join(a.tmpl, filepath.FromSlash(rel)) }

// apply runs the steps: creations and replacements parents first, removals children first.
func (a *applier) apply(steps []Step) error {
	a.placed = map[string]bool{}
	var removals []Step
	for _, s := range steps {
		if s.Warn {
			a.warn("%s %s: %s", s.Action, a.v.abs(s.Path), s.Detail())
		}
		if s.Action == ActRemove {
			removals = append(removals, s)
			continue
		}
		if err := a.step(s); err != nil {
			return fmt.Errorf("%s %s: %w", s.Action, a.v.abs(s.Path), err)
		}
	}
	sort.SliceStable(removals, func(i, j int) bool { return removals[i].Path > removals[j].Path })
	for _, s := range removals {
		if err := a.remove(s); err != nil {
			return fmt.Errorf("remove %s: %w", a.v.abs(s.Path), err)
		}
	}
	return nil
}

func (a *applier) step(s Step) error {
	switch s.Action {
	case ActInstall:
		return a.place(s.Path, s.Path, s.New)
	case ActReplace:
		if s.Cur != nil && s.Cur.Type == TypeDir {
			return a.replaceDir(s.Path, s.New)
		} else if s.New.Type == TypeDir {
			// A file cannot be renamed over by a directory: it is in the backup already.
			if err := a.v.unlink(s.Path); err != nil && !isNotExist(err) {
				return err
			}
		}
		return a.place(s.Path, s.Path, s.New)
	case ActKeepNew:
		return a.place(s.Path, s.Path+SuffixNew, s.New)
	case ActAside:
		aside, err := a.freeName(s.Path + SuffixOld)
		if err != nil {
			return err
		}
		if err := a.v.rename(s.Path, aside); err != nil && !isNotExist(err) {
			return err
		}
		a.warn("moved %s to %s", a.v.abs(s.Path), a.v.abs(aside))
		return a.place(s.Path, s.Path, s.New)
	case ActMeta:
		return a.meta(s.Path, s.New)
	}
	return nil // keep, blocked, none
}

// place puts the template's entry src at dst (dst differs for NAME.appagent-new).
func (a *applier) place(srcRel, dst string, e *Entry) error {
	if err := a.ensureParents(parentOf(dst)); err != nil {
		return err
	}
	err := a.v.at(dst, func(dfd int, name string) error {
		tmp := "." + name + tmpSuffix
		if err := removeAllAt(dfd, tmp); err != nil {
			return err
		}
		if e.Type == TypeDir {
			var st unix.Stat_t
			if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return setDirMetaAt(a.src(srcRel), dfd, name) // placed by an interrupted run
			}
			// Made under a temporary name with its owner and mode, then renamed: a run killed
			// in between leaves no 0700 root directory in place, which the next run would take
			// for the user's.
			if err := unix.Mkdirat(dfd, tmp, 0o700); err != nil {
				return err
			}
			if err := setDirMetaAt(a.src(srcRel), dfd, tmp); err != nil {
				removeAllAt(dfd, tmp)
				return err
			}
			if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
				removeAllAt(dfd, tmp)
				return err
			}
			return nil
		}
		var n int64
		var err error
		if e.Link != "" && (a.placed[e.Link] || a.isNew(e.Link)) {
			err = a.v.at(e.Link, func(lfd int, lname string) error { return unix.Linkat(lfd, lname, dfd, tmp, 0) })
		} else {
			n, err = copyEntryAt(a.src(srcRel), e.Type, dfd, tmp)
		}
		if err == errSkip {
			return nil
		}
		if err != nil {
			unix.Unlinkat(dfd, tmp, 0)
			return err
		}
		if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
			unix.Unlinkat(dfd, tmp, 0)
			if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%s is a directory, where the image's %s goes; move it away, then start the container again: %w",
					a.v.abs(dst), e.Type, err)
			}
			return err
		}
		a.pr.add(n)
		return nil
	})
	if err == nil {
		a.placed[dst] = true
	}
	return err
}

// linkCount is how many names the new build gives rel's inode (its hard-link group).
func (a *applier) linkCount(rel string, e *Entry) int {
	first := rel
	if e.Link != "" {
		first = e.Link
	}
	n := 0
	for i := range a.new.Entries {
		if x := &a.new.Entries[i]; x.Path == first || x.Link == first {
			n++
		}
	}
	return max(n, 1)
}

// ownCopy replaces rel by a copy of itself (a new inode, same content and metadata) and
// opens it.
func (a *applier) ownCopy(rel string) (int, error) {
	tmp := path.Join(parentOf(rel), "."+path.Base(rel)+tmpSuffix)
	_ = a.v.unlink(tmp)
	if err := copyWithinVolume(a.v, rel, tmp); err != nil {
		return -1, fmt.Errorf("copying %s to break a hard link: %w", a.v.abs(rel), err)
	}
	if err := a.v.rename(tmp, rel); err != nil {
		_ = a.v.unlink(tmp)
		return -1, err
	}
	a.warn("%s had a hard link that this image does not know (another name for the same file, maybe outside the volume); it is now a file of its own", a.v.abs(rel))
	return a.v.open(rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
}

// isNew tells whether the volume has this build's version of rel (a hard link's first member
// placed by an interrupted run, which this run does not place again): a new link may point
// at it. Without this, a restarted upgrade made the second name a copy.
func (a *applier) isNew(rel string) bool {
	n := a.new.Get(rel)
	if n == nil || n.Type != TypeFile {
		return false
	}
	cur, err := curEntry(a.v, rel, nil, n)
	return err == nil && cur != nil && sameContent(cur, n) && sameMeta(cur, n)
}

// ensureParents creates the missing directories of rel with the template's metadata.
func (a *applier) ensureParents(rel string) error {
	return a.v.mkdirAll(rel, func(made string) error {
		if a.new.Get(made) == nil {
			return nil // e.g. a user-removed parent the image does not list: 0700, root
		}
		return a.v.at(made, func(dfd int, name string) error { return setDirMetaAt(a.src(made), dfd, name) })
	})
}

// replaceDir puts the new non-directory e where the volume has a directory, and moves the
// directory whole into the backup. The new entry is made at the directory's place in the
// backup (files/<rel>) and swapped with the directory in one renameat2(RENAME_EXCHANGE):
// a kill leaves either the directory at rel (and the new entry in the backup, redone by the
// next run) or the new entry at rel and the directory in the backup, never nothing at rel
// and never the directory under a temporary name outside the backup.
func (a *applier) replaceDir(rel string, e *Entry) error {
	dst := a.backup + "/files/" + rel
	if err := a.v.mkdirAll(parentOf(dst), nil); err != nil {
		return err
	}
	// What is at dst is ours: backups of files inside the directory (remove steps), made
	// redundant by moving the whole directory there, or the new entry made by a run killed
	// before the exchange. A replaced path is a directory in the old manifest, so no other
	// step backs up a non-directory at dst.
	if err := a.v.removeAll(dst); err != nil {
		return err
	}
	err := a.v.at(dst, func(bfd int, bname string) error {
		if _, err := copyEntryAt(a.src(rel), e.Type, bfd, bname); err != nil && err != errSkip {
			return err
		}
		return a.v.at(rel, func(dfd int, name string) error {
			err := unix.Renameat2(bfd, bname, dfd, name, unix.RENAME_EXCHANGE)
			if errors.Is(err, unix.EXDEV) {
				return fmt.Errorf("%s is on another filesystem than the backup %s, so it cannot be moved there: move the directory off the volume by hand (or mount the whole volume as one filesystem), then start again: %w",
					a.v.abs(rel), a.v.abs(a.backup), err)
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	a.placed[rel] = true
	a.pr.add(0)
	a.warn("the directory %s is now %s (the image replaced it)", a.v.abs(rel), a.v.abs(dst))
	return nil
}

// freeName returns rel, or rel.N for the first N not taken.
func (a *applier) freeName(rel string) (string, error) {
	for i := 1; i < 1000; i++ {
		cand := rel
		if i > 1 {
			cand = fmt.Sprintf("%s.%d", rel, i)
		}
		ok, err := a.v.exists(cand)
		if err != nil {
			return "", err
		}
		if !ok {
			return cand, nil
		}
	}
	return "", fmt.Errorf("no free name for %s", a.v.abs(rel))
}

// meta applies the new entry's owner and mode to what the volume has.
func (a *applier) meta(rel string, e *Entry) error {
	if e.Type == TypeSymlink {
		return a.v.at(rel, func(dfd int, name string) error {
			return unix.Fchownat(dfd, name, e.UID, e.GID, unix.AT_SYMLINK_NOFOLLOW)
		})
	}
	if e.Type != TypeFile && e.Type != TypeDir {
		return nil
	}
	fd, err := a.v.open(rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if e.Type == TypeFile {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		if int(st.Nlink) > a.linkCount(rel, e) {
			// A name this build does not know shares the inode (a hard link planted on the
			// volume, maybe to a file outside it): a chown or chmod would change that file
			// too. The volume's path gets its own copy first.
			unix.Close(fd)
			if fd, err = a.ownCopy(rel); err != nil {
				return err
			}
		}
	}
	if err := unix.Fchown(fd, e.UID, e.GID); err != nil && !(notRoot && err == unix.EPERM) {
		return err
	}
	return unix.Fchmod(fd, e.Mode)
}

// remove deletes what the image dropped (backed up before). A directory that still holds
// files the image does not know is kept, with a warning: it is the user's.
func (a *applier) remove(s Step) error {
	var err error
	if s.Cur != nil && s.Cur.Type == TypeDir {
		err = a.v.rmdir(s.Path)
		if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
			a.warn("kept the directory %s: the image no longer has it, but it holds files the image does not know", a.v.abs(s.Path))
			return nil
		}
	} else {
		err = a.v.unlink(s.Path)
	}
	if err != nil && !isNotExist(err) {
		return err
	}
	a.pr.add(0)
	return nil
}
