package upgrade

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// backupDirName matches the directories backupName makes: <time>-<from>-to-<to>. Anything
// else in .appagent/backup (put there by a person) is never pruned.
var backupDirName = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9A-Za-z]+-to-[0-9A-Za-z]+$`)

// prunePrefix marks a backup being deleted: it is renamed first (one atomic step), so a kill
// in the middle of the removal never leaves a half-deleted backup under a backup's name; the
// next prune finishes the removal.
const prunePrefix = ".pruning-"

// pruneBackups deletes the upgrade backups older than the newest keep, after an upgrade has
// fully succeeded (the caller has written the build id). It never deletes current (the
// backup of the upgrade just made, relative to the volume), nor a backup whose plan.json
// names .appagent-new or .appagent-old files that still exist: `appagent status` (agent/status)
// reads the newest plans to list the files waiting for review. A plan that cannot be read
// keeps its backup. keep 0 keeps all. It returns what it removed; an error only stops the
// pruning (the upgrade itself is done).
func pruneBackups(v *vfs, keep int, current string) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	names, err := v.readDirNames(dirBackup)
	if err != nil || names == nil {
		return nil, err
	}
	var backups []string
	for _, n := range names {
		rel := dirBackup + "/" + n
		if strings.HasPrefix(n, prunePrefix) {
			if err := v.removeAll(rel); err != nil {
				return nil, fmt.Errorf("removing %s (an interrupted pruning): %w", v.abs(rel), err)
			}
			continue
		}
		if !backupDirName.MatchString(n) {
			continue
		}
		if st, err := v.lstat(rel); err != nil || typeOf(st.Mode) != TypeDir {
			continue
		}
		backups = append(backups, n)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(backups))) // named by UTC time: newest first
	var removed []string
	for i, n := range backups {
		rel := dirBackup + "/" + n
		if i < keep || rel == current || awaitsReview(v, rel) {
			continue
		}
		tmp := dirBackup + "/" + prunePrefix + n
		if err := v.rename(rel, tmp); err != nil {
			return removed, fmt.Errorf("removing the old backup %s: %w", v.abs(rel), err)
		}
		if err := v.removeAll(tmp); err != nil {
			return removed, fmt.Errorf("removing the old backup %s (renamed %s): %w", v.abs(rel), v.abs(tmp), err)
		}
		removed = append(removed, v.abs(rel))
	}
	return removed, nil
}

// planSteps reads a backup's plan.json (bounded: the volume is untrusted); a backup without a
// plan (an upgrade interrupted before writing it) gives (nil, nil).
func planSteps(v *vfs, dir string) ([]Step, error) {
	data, err := v.readSmall(dir+"/plan.json", maxManifest)
	if err != nil || data == nil {
		return nil, err
	}
	var steps []Step
	if err := json.Unmarshal(data, &steps); err != nil {
		return nil, fmt.Errorf("%s: %w", v.abs(dir+"/plan.json"), err)
	}
	return steps, nil
}

// reviewFiles lists the NAME.appagent-new and NAME.appagent-old files a plan's keep+new and
// move-aside steps left that are still on the volume (relative paths): deleting one (after
// merging it) is how it is marked reviewed.
func reviewFiles(v *vfs, steps []Step) ([]string, error) {
	var out []string
	for _, s := range steps {
		var suffix string
		switch s.Action {
		case ActKeepNew:
			suffix = SuffixNew
		case ActAside:
			suffix = SuffixOld
		default:
			continue
		}
		if checkRel(s.Path) != nil || s.Path == "" {
			continue
		}
		ok, err := v.exists(s.Path + suffix)
		if err != nil && !isNotExist(err) {
			return out, err
		}
		if ok {
			out = append(out, s.Path+suffix)
		}
	}
	return out, nil
}

// awaitsReview: the backup's plan.json names a keep+new or move-aside step whose
// NAME.appagent-new or NAME.appagent-old is still on the volume (reviewFiles, which
// `appagent status` lists too), or a replace step of a directory that is still in the
// backup's files/ (the user's files in it exist nowhere else), or the plan cannot be read
// (kept, to be safe). A backup without a plan has nothing to review.
func awaitsReview(v *vfs, dir string) bool {
	steps, err := planSteps(v, dir)
	if err != nil {
		return true
	}
	for _, s := range steps {
		if s.Action == ActReplace && s.Cur != nil && s.Cur.Type == TypeDir {
			// A directory the image replaced by a file was moved here whole, with whatever
			// the user kept in it: it stays until the user deletes it from the backup.
			ok, err := v.exists(dir + "/files/" + s.Path)
			if ok || (err != nil && !isNotExist(err)) {
				return true
			}
		}
	}
	files, err := reviewFiles(v, steps)
	return err != nil || len(files) > 0
}

// readDirNames lists the directory rel (never following a symlink); a missing directory
// gives nil.
func (v *vfs) readDirNames(rel string) ([]string, error) {
	fd, err := v.open(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", v.abs(rel), err)
	}
	f := os.NewFile(uintptr(fd), v.abs(rel))
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", v.abs(rel), err)
	}
	return names, nil
}
