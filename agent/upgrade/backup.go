package upgrade

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// The backup of an upgrade lives in <volume>/.appagent/backup/<time>-<from>-to-<to>/:
//
//	files/<path>   what the upgrade replaces or removes, as it was (hard links: no copy of
//	               the data; the upgrade puts new files in place by rename, which leaves the
//	               backup's inode alone)
//	plan.json      the plan: every step with what the volume had (type, mode, owner, hash)
//	manifest.json, build-id, format   the volume's state files before the upgrade
//
// It is made before anything on the volume changes. A resumed upgrade keeps what an earlier
// run saved (the first backup of a path wins), so the backup always holds the pre-upgrade state.

func backupName(from, to string) string {
	f := "none"
	if from != "" {
		f = shortID(from)
	}
	return dirBackup + "/" + timeNow().UTC().Format("20060102T150405Z") + "-" + f + "-to-" + shortID(to)
}

// needsBackup: steps that change or remove what the volume has.
func needsBackup(s Step) bool {
	if s.Cur == nil {
		return false
	}
	switch s.Action {
	case ActReplace, ActRemove:
		return s.Cur.Type != TypeDir // a replaced directory is moved into the backup by apply
	}
	return false
}

// makeBackup saves what the plan changes into dir (relative to the volume).
func makeBackup(v *vfs, dir string, steps []Step) error {
	if err := v.mkdirAll(dir+"/files", nil); err != nil {
		return fmt.Errorf("creating the backup %s: %w", v.abs(dir), err)
	}
	for _, f := range []string{fileManifest, fileBuildID, fileFormat} {
		dst := dir + "/" + path.Base(f)
		if ok, _ := v.exists(dst); ok {
			continue
		}
		if err := v.link(f, dst); err != nil && !isNotExist(err) {
			return fmt.Errorf("backing up %s: %w", v.abs(f), err)
		}
	}
	if ok, _ := v.exists(dir + "/plan.json"); !ok {
		data, err := json.MarshalIndent(steps, "", "  ")
		if err != nil {
			return err
		}
		if err := v.writeFileAtomic(dir+"/plan.json", data, 0o600); err != nil {
			return err
		}
	}
	// A run killed inside replaceDir, before its exchange, left the new entry at the
	// directory's place in the backup, where this run backs up the directory's files: the
	// volume still has the directory (s.Cur), so that entry is ours, and goes.
	for _, s := range steps {
		if s.Action != ActReplace || s.Cur == nil || s.Cur.Type != TypeDir || s.New == nil || s.New.Type == TypeDir {
			continue
		}
		dst := dir + "/files/" + s.Path
		if st, err := v.lstat(dst); err == nil && typeOf(st.Mode) != TypeDir {
			if err := v.unlink(dst); err != nil {
				return fmt.Errorf("removing the entry an interrupted run left in the backup: %w", err)
			}
		}
	}
	for _, s := range steps {
		if !needsBackup(s) {
			continue
		}
		dst := dir + "/files/" + s.Path
		if ok, err := v.exists(dst); err != nil {
			return err
		} else if ok {
			continue // saved by an interrupted run: that copy is the older one
		}
		if err := v.mkdirAll(parentOf(dst), nil); err != nil {
			return fmt.Errorf("backup of %s: %w", v.abs(s.Path), err)
		}
		err := v.link(s.Path, dst)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EMLINK) {
			err = copyWithinVolume(v, s.Path, dst)
		}
		if err != nil && !isNotExist(err) {
			return fmt.Errorf("backing up %s to %s: %w", v.abs(s.Path), v.abs(dst), err)
		}
	}
	return nil
}

// copyWithinVolume copies a file or symlink of the volume (when a hard link is not possible:
// another filesystem mounted inside the volume).
func copyWithinVolume(v *vfs, from, to string) error {
	st, err := v.lstat(from)
	if err != nil {
		return err
	}
	return v.at(to, func(dfd int, name string) error {
		switch typeOf(st.Mode) {
		case TypeSymlink:
			t, err := v.readlink(from)
			if err != nil {
				return err
			}
			return unix.Symlinkat(t, dfd, name)
		case TypeFile:
			sfd, err := v.open(from, unix.O_RDONLY|unix.O_NONBLOCK, 0)
			if err != nil {
				return err
			}
			defer unix.Close(sfd)
			tmp := "." + name + tmpSuffix
			_ = unix.Unlinkat(dfd, tmp, 0)
			dst, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return err
			}
			_, err = copyData(sfd, dst, st.Size)
			if err == nil {
				err = setMetaFd(sfd, dst, &st)
			}
			unix.Close(dst)
			if err != nil {
				return err
			}
			return unix.Renameat(dfd, tmp, dfd, name)
		}
		return nil // special files: their metadata is in plan.json
	})
}

func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist) || errors.Is(err, errBlocked) || errors.Is(err, unix.ENOTDIR)
}
