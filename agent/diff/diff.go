package diff

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/preflight"
)

// Kind of a change.
type Kind string

const (
	Added   Kind = "added"
	Changed Kind = "changed"
	Deleted Kind = "deleted"
)

// Change is one path that differs from the image.
type Change struct {
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
	Type Type   `json:"type"`
	// What changed, for Changed: type, mode, owner, size, mtime, target.
	What []string `json:"what,omitempty"`
	// Below counts the entries inside an added or deleted directory (they are not listed).
	Below int `json:"below,omitempty"`
}

// Report is the result of a diff. docs/diff.md documents its JSON shape.
type Report struct {
	Root     string   `json:"root"`
	Manifest string   `json:"manifest"`
	Recorded int      `json:"recorded"` // entries in the manifest
	Walked   int      `json:"walked"`   // entries on the live filesystem
	Changes  []Change `json:"changes"`  // sorted by path
	// Suggest lists paths to add to volume.paths so the changes survive re-creation.
	Suggest []string `json:"suggest"`
	Ignored []string `json:"ignored"` // paths diff left out
	Errors  []string `json:"errors,omitempty"`
	Elapsed string   `json:"elapsed"`
}

// Empty tells whether nothing outside the volume differs from the image.
func (r *Report) Empty() bool { return len(r.Changes) == 0 }

// Count returns the number of changes of a kind.
func (r *Report) Count(k Kind) int {
	n := 0
	for _, c := range r.Changes {
		if c.Kind == k {
			n++
		}
	}
	return n
}

// Compare returns the changes from old to cur (both sorted by path). Directories count as
// changed only for type, mode and owner: their size and mtime change whenever an entry is
// added or removed, which is reported on the entry itself. Entries below an added or deleted
// directory are folded into it (Below).
func Compare(old, cur []Entry) []Change {
	var out []Change
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(old) && old[i].Path < cur[j].Path):
			out = append(out, Change{Path: old[i].Path, Kind: Deleted, Type: old[i].Type})
			i++
		case i >= len(old) || cur[j].Path < old[i].Path:
			out = append(out, Change{Path: cur[j].Path, Kind: Added, Type: cur[j].Type})
			j++
		default:
			if what := differs(old[i], cur[j]); len(what) > 0 {
				out = append(out, Change{Path: cur[j].Path, Kind: Changed, Type: cur[j].Type, What: what})
			}
			i++
			j++
		}
	}
	return fold(out)
}

func differs(a, b Entry) []string {
	if a.Type != b.Type {
		return []string{"type"}
	}
	var what []string
	if a.Mode != b.Mode {
		what = append(what, "mode")
	}
	if a.UID != b.UID || a.GID != b.GID {
		what = append(what, "owner")
	}
	switch a.Type {
	case Dir:
	case Symlink:
		if a.Link != b.Link {
			what = append(what, "target")
		}
	default:
		if a.Size != b.Size {
			what = append(what, "size")
		}
		if !sameTime(a.MTime, b.MTime) {
			what = append(what, "mtime")
		}
	}
	return what
}

// sameTime compares modification times to the nanosecond, or to the second when one of them
// has no fraction: image layers (tar) keep whole seconds, so a file written by prepare in the
// same RUN step as the manifest comes back from the layer with its fraction cut (seen with
// podman build). A write at run time moves the seconds too.
func sameTime(a, b int64) bool {
	if a == b {
		return true
	}
	const s = int64(1e9)
	if a%s == 0 || b%s == 0 {
		return a/s == b/s
	}
	return false
}

// fold folds entries below an added (deleted) directory into that directory.
func fold(cs []Change) []Change {
	tops := map[string]int{} // dir path -> index in out
	var out []Change
	for _, c := range cs {
		if c.Kind != Changed {
			if idx, ok := foldInto(tops, out, c); ok {
				out[idx].Below++
				continue
			}
		}
		out = append(out, c)
		if c.Type == Dir && c.Kind != Changed {
			tops[c.Path] = len(out) - 1
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out
}

func foldInto(tops map[string]int, out []Change, c Change) (int, bool) {
	for q := path.Dir(c.Path); q != "/" && q != "."; q = path.Dir(q) {
		if idx, ok := tops[q]; ok && out[idx].Kind == c.Kind {
			return idx, true
		}
	}
	return 0, false
}

// broad directories are never suggested as a whole: they hold the image's own files too.
var broad = map[string]bool{
	"/": true, "/etc": true, "/var": true, "/var/lib": true, "/var/cache": true, "/var/spool": true,
	"/var/log": true, "/var/www": true, "/usr": true, "/usr/local": true, "/usr/share": true, "/opt": true,
	"/srv": true, "/home": true, "/var/opt": true, "/var/backups": true, "/var/mail": true,
	"/usr/local/etc": true, "/usr/local/share": true, "/usr/local/lib": true, "/usr/local/bin": true,
	"/usr/lib": true, "/usr/lib64": true, "/usr/libexec": true, "/usr/bin": true, "/usr/sbin": true,
	"/lib": true, "/lib64": true, "/bin": true, "/sbin": true, "/root": true,
}

// Suggest returns the paths to add to volume.paths: for each change, the directory just below
// a broad directory (/etc/apache2, /var/lib/mysql) when two or more changes share it or it is
// itself added; otherwise the changed path itself (/etc/foo). Deleted paths are suggested too:
// a deletion is lost like a write. A change of a broad directory's own metadata (/etc's mode)
// gets no suggestion: only the image can keep it.
func Suggest(cs []Change) []string {
	groups := map[string][]Change{}
	var order []string
	for _, c := range cs {
		a := anchor(c.Path)
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], c)
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range order {
		g := groups[a]
		pick := a
		if len(g) == 1 && g[0].Below == 0 {
			pick = g[0].Path
		}
		if broad[pick] && g[0].Kind != Added {
			continue // /etc's own mode or owner: moving /etc to the volume is no fix
		}
		if !seen[pick] {
			seen[pick] = true
			out = append(out, pick)
		}
	}
	sort.Strings(out)
	return out
}

// anchor is p's ancestor one level below the deepest broad directory above it (or p).
func anchor(p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for _, part := range parts {
		next := cur + "/" + part
		if !broad[next] {
			return next
		}
		cur = next
	}
	return p
}

// Options of Record and Diff.
type Options struct {
	// Root of the filesystem ("/" in a container).
	Root string
	// Manifest path inside Root (default ManifestPath).
	Manifest string
	// Config gives the volume, template and diff.ignore paths.
	Config *config.Config
}

func (o *Options) defaults() {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Manifest == "" {
		o.Manifest = ManifestPath
	}
}

func (o *Options) ignore() *Ignore {
	var extra []string
	if o.Config != nil {
		extra = append(extra, o.Config.Volume.Path, o.Config.Volume.Template)
		extra = append(extra, o.Config.Diff.Ignore...)
	}
	return NewIgnore(extra...)
}

// skipper adds the mount points below / (when walking the live root): a mounted file or
// directory is not part of the container's layer (volumes, /etc/hosts bind mounts, a
// transient /etc/machine-id), so writes there are not lost with the container.
func (o *Options) skipper(ig *Ignore) func(string) bool {
	mounts := map[string]bool{}
	if o.Root == "/" {
		if ms, err := readMounts(); err == nil {
			for _, m := range ms {
				if m.Point != "/" {
					mounts[m.Point] = true
				}
			}
		}
	}
	return func(p string) bool { return ig.Skip(p) || mounts[p] }
}

// Record walks the image root and writes the manifest; prepare calls it as its last step.
func Record(o Options) (int, error) {
	o.defaults()
	ig := o.ignore()
	w := &Walker{Root: o.Root, Skip: o.skipper(ig)}
	entries, errs := w.Walk()
	if len(errs) > 0 {
		return 0, fmt.Errorf("walking %s: %v (and %d more)", o.Root, errs[0], len(errs)-1)
	}
	if err := SaveManifest(path.Join(o.Root, o.Manifest), entries); err != nil {
		return 0, err
	}
	return len(entries), nil
}

// Diff compares the live root with the manifest recorded at prepare.
func Diff(o Options) (*Report, error) {
	start := time.Now()
	o.defaults()
	old, err := LoadManifest(path.Join(o.Root, o.Manifest))
	if err != nil {
		return nil, fmt.Errorf("diff needs the manifest that `appagent prepare` records: %w", err)
	}
	ig := o.ignore()
	w := &Walker{Root: o.Root, Skip: o.skipper(ig)}
	cur, errs := w.Walk()
	// The image's manifest may hold paths the live walk leaves out (mount points, a
	// diff.ignore added later): drop them from both sides.
	skip := w.Skip
	old = filter(old, func(p string) bool { return covered(skip, p) })
	r := &Report{Root: o.Root, Manifest: o.Manifest, Recorded: len(old), Walked: len(cur),
		Ignored: ig.Entries}
	r.Changes = Compare(old, cur)
	if r.Changes == nil {
		r.Changes = []Change{}
	}
	r.Suggest = Suggest(r.Changes)
	if r.Suggest == nil {
		r.Suggest = []string{}
	}
	for _, e := range errs {
		r.Errors = append(r.Errors, e.Error())
	}
	r.Elapsed = time.Since(start).Round(time.Millisecond).String()
	return r, nil
}

func filter(es []Entry, drop func(string) bool) []Entry {
	out := es[:0]
	for _, e := range es {
		if !drop(e.Path) {
			out = append(out, e)
		}
	}
	return out
}

// covered tells whether skip holds for p or one of its parents.
func covered(skip func(string) bool, p string) bool {
	for q := p; q != "/" && q != "." && q != ""; q = path.Dir(q) {
		if skip(q) {
			return true
		}
	}
	return false
}

func readMounts() (preflight.Mounts, error) {
	data, err := readFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return preflight.ParseMountinfo(string(data))
}
