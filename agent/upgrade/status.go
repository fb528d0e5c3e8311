package upgrade

import (
	"errors"
	"sort"

	"golang.org/x/sys/unix"
)

// VolumeState is what `appagent status` shows of the volume: read-only, without the lock,
// through the same no-follow layer and bounded reads as the upgrade itself, so no other
// package re-declares the volume's state files or re-parses the backups' plans.
type VolumeState struct {
	Format  *int   // nil: unknown or not populated yet
	BuildID string // "" when none
	// Review lists the NAME.appagent-new and NAME.appagent-old files of the latest upgrades
	// (maxPlans backups, newest first) still on the volume, as absolute paths.
	Review []string
	// ReviewKnown is false when a plan could not be read (Review may then be short).
	ReviewKnown bool
}

// maxPlans bounds how many upgrade records ReadVolumeState reads (newest first): a probe
// reads a few small files, it does not walk the volume.
const maxPlans = 10

// ReadVolumeState reads the volume's format, build id and pending review files.
func ReadVolumeState(volume string) VolumeState {
	st := VolumeState{Review: []string{}, ReviewKnown: true}
	v, err := openVFS(volume)
	if err != nil {
		st.ReviewKnown = errors.Is(err, unix.ENOENT) // no volume yet: nothing to review
		return st
	}
	defer v.Close()
	if f, err := readFormat(v); err == nil && f > 0 {
		st.Format = &f
	}
	st.BuildID, _ = readBuildID(v)
	names, err := v.readDirNames(dirBackup)
	if err != nil {
		st.ReviewKnown = false
		return st
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names))) // named by UTC time: newest first
	if len(names) > maxPlans {
		names = names[:maxPlans]
	}
	seen := map[string]bool{}
	for _, n := range names {
		if fi, err := v.lstat(dirBackup + "/" + n); err != nil || typeOf(fi.Mode) != TypeDir {
			continue
		}
		steps, err := planSteps(v, dirBackup+"/"+n)
		if err != nil {
			st.ReviewKnown = false
			continue
		}
		files, err := reviewFiles(v, steps)
		if err != nil {
			st.ReviewKnown = false
		}
		for _, f := range files {
			if p := v.abs(f); !seen[p] {
				seen[p] = true
				st.Review = append(st.Review, p)
			}
		}
	}
	sort.Strings(st.Review)
	return st
}
