package upgrade

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"
)

// Plan kinds.
const (
	KindUpToDate = "up-to-date"
	KindPopulate = "populate"
	KindUpgrade  = "upgrade"
)

// Plan is what `appagent init` will do to the volume; `--plan` prints it and changes nothing.
type Plan struct {
	Kind       string `json:"kind"`
	Volume     string `json:"volume"`
	FromBuild  string `json:"from_build,omitempty"`
	ToBuild    string `json:"to_build"`
	FromFormat int    `json:"from_format,omitempty"`
	ToFormat   int    `json:"to_format"`
	Resume     bool   `json:"resume,omitempty"` // an interrupted run is redone
	// Downgrade: the volume's build was made after the image's (volume.downgrade decides).
	Downgrade bool `json:"downgrade,omitempty"`
	// Adopt: the volume has files but no appagent state (AdoptEnv decides).
	Adopt      bool     `json:"adopt,omitempty"`
	Steps      []Step   `json:"steps,omitempty"`
	Migrations []string `json:"migrations,omitempty"` // executables, in order
	Backup     string   `json:"backup,omitempty"`     // where changed files are saved (absolute)
	Files      int      `json:"files,omitempty"`      // populate: entries to copy
	Bytes      int64    `json:"bytes,omitempty"`      // populate: bytes to copy
}

// Step is one path's decision.
type Step struct {
	Path string `json:"path"` // relative to the volume
	Decision
	Old *Entry `json:"-"`
	New *Entry `json:"-"`
	Cur *Entry `json:"cur,omitempty"` // what the volume had (for the backup record)
}

// curEntry describes what the volume has at rel; nil when absent. A regular file is hashed
// only when its size equals old's or new's: a different size is a different content.
func curEntry(v *vfs, rel string, old, new *Entry) (*Entry, error) {
	st, err := v.lstat(rel)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &Entry{Path: rel, Type: typeOf(st.Mode), Mode: st.Mode & 0o7777, UID: int(st.Uid), GID: int(st.Gid)}
	switch e.Type {
	case TypeFile:
		e.Size = st.Size
		if (old != nil && old.Type == TypeFile && old.Size == st.Size) || (new != nil && new.Type == TypeFile && new.Size == st.Size) {
			if e.SHA256, err = v.hashFile(rel); err != nil {
				return nil, fmt.Errorf("hashing %s: %w", v.abs(rel), err)
			}
		}
	case TypeSymlink:
		e.Mode = 0o777
		if e.Target, err = v.readlink(rel); err != nil {
			return nil, err
		}
	case TypeChar, TypeBlock:
		e.Rdev = st.Rdev
	}
	return e, nil
}

// unchanged: the image did not change this entry between the two builds, so there is nothing
// to do whatever the volume has (the user's version, or the user's removal, stays). This is
// what makes an upgrade cost proportional to what changed, not to the template's size.
func unchanged(o, n *Entry) bool {
	return o != nil && n != nil && sameContent(o, n) && sameMeta(o, n) && o.Link == n.Link
}

// planFiles decides every path that differs between old (nil: the volume has no manifest)
// and new. Steps come sorted by path; ActNone steps are left out.
func planFiles(v *vfs, old, new *Manifest) ([]Step, error) {
	var steps []Step
	fresh := map[string]bool{} // directories this plan creates: nothing under them to stat
	add := func(rel string, o, n *Entry) error {
		var cur *Entry
		if !fresh[parentOf(rel)] {
			c, err := curEntry(v, rel, o, n)
			if errors.Is(err, errBlocked) {
				if n != nil {
					steps = append(steps, Step{Path: rel, Old: o, New: n, Decision: Decision{Action: ActBlocked, Warn: true,
						Reason: "a parent directory on the volume is a symlink or not a directory; not installed"}})
				}
				return nil
			}
			if err != nil {
				return err
			}
			cur = c
		}
		d := Decide(o, n, cur)
		if n != nil && n.Type == TypeDir && (d.Action == ActInstall || d.Action == ActReplace || d.Action == ActAside) {
			fresh[rel] = true
		}
		if d.Action != ActNone {
			steps = append(steps, Step{Path: rel, Decision: d, Old: o, New: n, Cur: cur})
		}
		return nil
	}
	for i := range new.Entries {
		n := &new.Entries[i]
		o := old.Get(n.Path)
		if unchanged(o, n) {
			continue
		}
		if err := add(n.Path, o, n); err != nil {
			return nil, err
		}
	}
	if old != nil {
		for i := range old.Entries {
			o := &old.Entries[i]
			if new.Get(o.Path) != nil || under(o.Path, StateDir) {
				continue
			}
			if err := add(o.Path, o, nil); err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Path < steps[j].Path })
	return steps, nil
}

// WriteText prints the plan for people: a header and a table.
func (p *Plan) WriteText(w io.Writer) {
	switch p.Kind {
	case KindUpToDate:
		fmt.Fprintf(w, "volume %s is up to date (build %s, format %d); nothing to do\n", p.Volume, p.ToBuild, p.ToFormat)
		return
	case KindPopulate:
		fmt.Fprintf(w, "volume %s is empty: populate it from the template of build %s (format %d): %d entries, %s\n",
			p.Volume, p.ToBuild, p.ToFormat, p.Files, mb(p.Bytes))
		if p.Resume {
			fmt.Fprintln(w, "(an interrupted population is redone)")
		}
		return
	}
	from := p.FromBuild
	if from == "" {
		from = "(none: the volume has no appagent manifest)"
	}
	fmt.Fprintf(w, "upgrade volume %s from build %s (format %d) to build %s (format %d)\n",
		p.Volume, from, p.FromFormat, p.ToBuild, p.ToFormat)
	if p.Resume {
		fmt.Fprintln(w, "(an interrupted upgrade is redone)")
	}
	if p.Adopt {
		fmt.Fprintf(w, "this is an adoption: the volume has files but no appagent state (refused unless the container has %s=yes; the configure hook then counts as done)\n", AdoptEnv)
	}
	if p.Downgrade {
		fmt.Fprintf(w, "this is a downgrade: build %s was made after build %s (refused unless volume.downgrade is allow or the container has %s=allow)\n", p.FromBuild, p.ToBuild, DowngradeEnv)
	}
	if p.Backup != "" {
		fmt.Fprintf(w, "changed and removed files are backed up first in %s\n", p.Backup)
	}
	if len(p.Steps) == 0 && len(p.Migrations) == 0 {
		fmt.Fprintln(w, "no file changes; only the build id is recorded")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tPATH\tWHY")
	for _, s := range p.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Action, showName("/"+s.Path), s.Detail())
	}
	for _, m := range p.Migrations {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ActMigrate, m, "volume format migration")
	}
	tw.Flush()
}

// Detail is the step's reason, naming the file written beside the user's where there is one.
func (s Step) Detail() string {
	switch s.Action {
	case ActKeepNew:
		return s.Reason + " (" + showName(path.Base(s.Path)+SuffixNew) + ")"
	case ActAside:
		return s.Reason + " (" + showName(path.Base(s.Path)+SuffixOld) + ")"
	}
	return s.Reason
}

// showName quotes a name for a message when it could break the line (vfs.abs).
func showName(n string) string {
	if needsQuote(n) {
		return strconv.Quote(n)
	}
	return n
}

// WriteJSON prints the plan for machines.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// counts summarises steps by action.
func counts(steps []Step) string {
	c := map[Action]int{}
	for _, s := range steps {
		c[s.Action]++
	}
	var parts []string
	for _, a := range []Action{ActInstall, ActReplace, ActMeta, ActKeepNew, ActKeep, ActRemove, ActAside, ActBlocked} {
		if c[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[a], a))
		}
	}
	if len(parts) == 0 {
		return "no file changes"
	}
	return strings.Join(parts, ", ")
}
