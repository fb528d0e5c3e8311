package upgrade

// Action is what an upgrade does to one path of the volume.
type Action string

// The actions of the decision table (docs/volume.md has the same table for people).
const (
	ActNone    Action = "none"       // nothing to do
	ActInstall Action = "install"    // absent on the volume: create it from the new template
	ActReplace Action = "replace"    // the user never changed it: back it up, put the new version
	ActMeta    Action = "chmod"      // same content: apply the new mode/owner
	ActKeepNew Action = "keep+new"   // the user changed it and so did the image: keep, write NAME.appagent-new
	ActKeep    Action = "keep"       // keep the user's version (said as a warning)
	ActRemove  Action = "remove"     // the image dropped it, the user never changed it: back up, remove
	ActAside   Action = "move-aside" // the image changed its type, the user changed it: move to NAME.appagent-old, install
	ActBlocked Action = "blocked"    // a parent on the volume is not a directory: not installed
	ActMigrate Action = "migrate"    // format migration step (plan only)
)

// Suffixes of files written beside a user's file.
const (
	SuffixNew = ".appagent-new"
	SuffixOld = ".appagent-old"
)

// Decision is the table's answer for one path.
type Decision struct {
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
	Warn   bool   `json:"warn,omitempty"` // people must look at it: printed as a warning
}

// sameContent: same type and, by type, same bytes (size+sha256), target or device.
func sameContent(a, b *Entry) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case TypeFile:
		return a.Size == b.Size && a.SHA256 == b.SHA256
	case TypeSymlink:
		return a.Target == b.Target
	case TypeChar, TypeBlock:
		return a.Rdev == b.Rdev
	}
	return true
}

func sameMeta(a, b *Entry) bool {
	if a.Type == TypeSymlink {
		return a.UID == b.UID && a.GID == b.GID
	}
	return a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID
}

// partlyApplied: each of cur's owner, group and mode is old's or new's, as a run killed
// between its fchown and its fchmod leaves them. Read as the user's change, the image's new
// mode would never apply (a 600 that should be 640 stays, a 700 that should be 750 too).
func partlyApplied(cur, old, new *Entry) bool {
	if old.Type != new.Type {
		return false
	}
	in := func(v, a, b uint32) bool { return v == a || v == b }
	return in(uint32(cur.UID), uint32(old.UID), uint32(new.UID)) && in(uint32(cur.GID), uint32(old.GID), uint32(new.GID)) &&
		(cur.Type == TypeSymlink || in(cur.Mode, old.Mode, new.Mode))
}

// Decide is the upgrade decision table. old is the entry in the manifest of the build that
// last wrote the volume, new the entry in this image's manifest, cur what the volume has now
// (nil = absent). cur.SHA256 must be filled for a regular file whose size equals old's or
// new's (the planner hashes only then). It is a pure function: plan.go gathers its inputs.
func Decide(old, new, cur *Entry) Decision {
	switch {
	case new == nil && old == nil:
		return Decision{Action: ActNone}
	case new == nil:
		// The new image no longer has it.
		if cur == nil {
			return Decision{Action: ActNone, Reason: "gone from the image and the volume"}
		}
		if sameContent(cur, old) {
			return Decision{Action: ActRemove, Reason: "the image no longer has it; you never changed it"}
		}
		return Decision{Action: ActKeep, Warn: true, Reason: "the image no longer has it; kept because you changed it"}
	}

	if cur == nil {
		switch {
		case old == nil:
			return Decision{Action: ActInstall, Reason: "new in the image"}
		case sameContent(old, new):
			return Decision{Action: ActNone, Reason: "you removed it; the image did not change it"}
		case new.Type == TypeDir:
			return Decision{Action: ActInstall, Reason: "the image made it a directory"}
		default:
			return Decision{Action: ActKeepNew, Warn: true, Reason: "you removed it and the image changed it; left removed, new version beside it"}
		}
	}

	if sameContent(cur, new) {
		if sameMeta(cur, new) {
			return Decision{Action: ActNone}
		}
		if old == nil || sameMeta(cur, old) || partlyApplied(cur, old, new) {
			return Decision{Action: ActMeta, Reason: "the image changed its mode or owner"}
		}
		return Decision{Action: ActNone, Reason: "you changed its mode or owner"}
	}

	if old == nil {
		// On the volume but not from an earlier image (a volume made by hand or by another tool).
		if new.Type == TypeDir {
			return Decision{Action: ActBlocked, Warn: true, Reason: "the image has a directory here but the volume has a " + cur.Type + " not made by appagent; kept, nothing installed under it"}
		}
		return Decision{Action: ActKeepNew, Warn: true, Reason: "the volume has its own version (not from an earlier image); kept, the image's version beside it"}
	}

	if sameContent(cur, old) {
		if cur.Type == TypeDir {
			return Decision{Action: ActReplace, Warn: true, Reason: "the image replaced this directory by a " + new.Type + "; the directory is moved to the backup"}
		}
		return Decision{Action: ActReplace, Reason: "you never changed it; the image did"}
	}

	// The user changed it.
	if sameContent(old, new) {
		return Decision{Action: ActNone, Reason: "you changed it; the image did not"}
	}
	if new.Type == TypeDir {
		if old.Type != TypeDir {
			return Decision{Action: ActAside, Warn: true, Reason: "the image made it a directory and you changed the " + old.Type + "; yours is moved aside"}
		}
		// old and new are directories, so sameContent(old, new) held above; unreachable.
		return Decision{Action: ActBlocked, Warn: true, Reason: "a directory in the image is a " + cur.Type + " on the volume; kept, nothing installed under it"}
	}
	return Decision{Action: ActKeepNew, Warn: true, Reason: "you changed it and so did the image; yours is kept, the image's version is beside it"}
}
