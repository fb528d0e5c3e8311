package upgrade

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/appagent/appagent/agent/layout"

	"golang.org/x/sys/unix"
)

// Entry types in a manifest.
const (
	TypeDir     = "dir"
	TypeFile    = "file"
	TypeSymlink = "symlink"
	TypeFifo    = "fifo"
	TypeChar    = "char"
	TypeBlock   = "block"
	TypeSocket  = "socket"
)

// ManifestVersion is the version of the manifest's own JSON layout.
const ManifestVersion = 1

// Manifest describes a template: every entry under it with type, mode, owner and content
// hash. The image keeps the manifest of its template; the volume keeps the manifest of the
// build that last wrote it, which is how an upgrade tells a file the user changed from one
// the user never touched, without any package database.
type Manifest struct {
	Version int `json:"manifest_version"`
	// BuildID is the unique id of the `appagent prepare` run that made the template.
	BuildID string `json:"build_id"`
	// Format is the volume format version the image writes (config volume.format).
	Format int `json:"volume_format"`
	// Volume is the volume's mount point in the container (config volume.path).
	Volume string `json:"volume"`
	// Paths are the listed volume paths, relative ("etc/mysql").
	Paths []string `json:"paths"`
	// Entries, sorted by path; parents of listed paths are entries too.
	Entries []Entry `json:"entries"`

	index map[string]int
}

// Entry is one file, directory, symlink or special file of the template, by its path
// relative to the volume root.
type Entry struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Mode   uint32 `json:"mode"` // permission bits with setuid/setgid/sticky (07777)
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"` // symlink target
	// Link names the first entry (by path order) that is the same inode: a hard link.
	Link string `json:"link,omitempty"`
	Rdev uint64 `json:"rdev,omitempty"`
}

// Get returns the entry for rel, or nil.
func (m *Manifest) Get(rel string) *Entry {
	if m == nil {
		return nil
	}
	if m.index == nil {
		m.index = make(map[string]int, len(m.Entries))
		for i := range m.Entries {
			m.index[m.Entries[i].Path] = i
		}
	}
	if i, ok := m.index[rel]; ok {
		return &m.Entries[i]
	}
	return nil
}

// Bytes is the total size of the regular files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, e := range m.Entries {
		if e.Type == TypeFile && e.Link == "" {
			n += e.Size
		}
	}
	return n
}

// ParseManifest reads and checks a manifest. The volume's copy is untrusted: every path must
// be clean and relative, types known, entries unique; a bad manifest is an error that says
// which entry is wrong.
func ParseManifest(name string, data []byte) (*Manifest, error) {
	m, ok := decodeCanonical(data)
	if !ok {
		var err error
		if m, err = decodeJSON(name, data); err != nil {
			return nil, err
		}
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("%s: manifest version %d is not known to this appagent (it knows %d)", name, m.Version, ManifestVersion)
	}
	if m.Format < 1 {
		return nil, fmt.Errorf("%s: volume_format %d is not valid", name, m.Format)
	}
	// The build id reaches messages and the container's output: a value from the volume
	// must not carry a line of its own ("appagent: …" faked by a newline).
	if m.BuildID != "" && !layout.ValidBuildID(m.BuildID) {
		return nil, fmt.Errorf("%s: build_id %q is not a build id", name, truncate(m.BuildID, 40))
	}
	seen := make(map[string]bool, len(m.Entries))
	for i, e := range m.Entries {
		if e.Path == "" || checkRel(e.Path) != nil {
			return nil, fmt.Errorf("%s: entries[%d]: path %q is not a clean relative path", name, i, e.Path)
		}
		if seen[e.Path] {
			return nil, fmt.Errorf("%s: entries[%d]: path %q appears twice", name, i, e.Path)
		}
		seen[e.Path] = true
		switch e.Type {
		case TypeDir, TypeFile, TypeSymlink, TypeFifo, TypeChar, TypeBlock, TypeSocket:
		default:
			return nil, fmt.Errorf("%s: entries[%d] (%q): unknown type %q", name, i, e.Path, e.Type)
		}
		if e.Mode&^0o7777 != 0 {
			return nil, fmt.Errorf("%s: entries[%d] (%q): mode %o has more than permission bits", name, i, e.Path, e.Mode)
		}
		if e.Link != "" && checkRel(e.Link) != nil {
			return nil, fmt.Errorf("%s: entries[%d] (%q): link %q is not a clean relative path", name, i, e.Path, e.Link)
		}
	}
	for i, p := range m.Paths {
		if p == "" || checkRel(p) != nil {
			return nil, fmt.Errorf("%s: paths[%d]: %q is not a clean relative path", name, i, p)
		}
	}
	if less := func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path }; !sort.SliceIsSorted(m.Entries, less) {
		sort.Slice(m.Entries, less) // appagent writes them sorted; one check is cheaper than a sort
	}
	return &m, nil
}

// decodeJSON reads a manifest with encoding/json: the reference decodeCanonical is held to,
// and the reader of every file in another layout.
func decodeJSON(name string, data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: not a valid appagent manifest: %w", name, err)
	}
	// appagent writes one JSON object; anything after it is damage or a plant, not data.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return m, fmt.Errorf("%s: not a valid appagent manifest: data after its end (at byte %d)", name, dec.InputOffset())
	}
	return m, nil
}

// Marshal renders the manifest as JSON, one entry a line so a diff of two manifests reads well.
func (m *Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	head := *m
	head.Entries = nil
	h, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	b.Write(h[:len(h)-len(`"entries":null}`)])
	b.WriteString("\"entries\":[\n")
	for i, e := range m.Entries {
		line, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		if i < len(m.Entries)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}

// typeOf maps a stat mode to a manifest type.
func typeOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFREG:
		return TypeFile
	case unix.S_IFLNK:
		return TypeSymlink
	case unix.S_IFIFO:
		return TypeFifo
	case unix.S_IFCHR:
		return TypeChar
	case unix.S_IFBLK:
		return TypeBlock
	default:
		return TypeSocket
	}
}

// BuildManifest walks a template tree and describes it, hashing files in parallel.
func BuildManifest(tmpl string, paths []string) (*Manifest, error) {
	m := &Manifest{Version: ManifestVersion, Paths: append([]string(nil), paths...)}
	type ino struct{ dev, ino uint64 }
	first := map[ino]string{}
	var files []int
	err := filepath.WalkDir(tmpl, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == tmpl {
			return nil
		}
		rel := strings.TrimPrefix(p, strings.TrimSuffix(tmpl, "/")+"/")
		// Only the listed paths and their parents: a tree left in the template by an
		// earlier prepare with a longer list is not part of this build.
		if !wanted(rel, paths) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		e := Entry{Path: rel, Type: typeOf(st.Mode), Mode: st.Mode & 0o7777, UID: int(st.Uid), GID: int(st.Gid)}
		switch e.Type {
		case TypeFile:
			e.Size = st.Size
			if st.Nlink > 1 {
				k := ino{st.Dev, st.Ino}
				if f, ok := first[k]; ok {
					e.Link = f
				} else {
					first[k] = rel
				}
			}
			files = append(files, len(m.Entries))
		case TypeSymlink:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Target = t
			e.Mode = 0o777
		case TypeChar, TypeBlock:
			e.Rdev = st.Rdev
		}
		m.Entries = append(m.Entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the template %s: %w", tmpl, err)
	}
	// Hash in parallel; hard links share their first member's hash.
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				e := &m.Entries[i]
				if e.Link != "" {
					continue
				}
				f, err := os.Open(filepath.Join(tmpl, e.Path))
				if err == nil {
					e.SHA256, err = hashReader(f)
					f.Close()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("hashing %s: %w", filepath.Join(tmpl, e.Path), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
	m.index = nil
	for i := range m.Entries {
		if l := m.Entries[i].Link; l != "" {
			if f := m.Get(l); f != nil {
				m.Entries[i].SHA256 = f.SHA256
			}
		}
	}
	return m, nil
}

// wanted: rel is a listed path, inside one, or a parent of one.
func wanted(rel string, paths []string) bool {
	for _, p := range paths {
		if under(rel, p) || strings.HasPrefix(p, rel+"/") {
			return true
		}
	}
	return false
}

// under tells whether rel is root or inside it (relative paths).
func under(rel, root string) bool {
	return rel == root || strings.HasPrefix(rel, root+"/")
}

// listedRoot returns the listed path that holds rel, or "".
func (m *Manifest) listedRoot(rel string) string {
	for _, p := range m.Paths {
		if under(rel, p) {
			return p
		}
	}
	return ""
}

// parentOf is path.Dir for relative paths, "" for a top-level name.
func parentOf(rel string) string {
	d := path.Dir(rel)
	if d == "." {
		return ""
	}
	return d
}
