package diff

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/internal/atomicfile"
)

// Type of a filesystem entry, one letter as in find -printf %y.
type Type byte

const (
	File    Type = 'f'
	Dir     Type = 'd'
	Symlink Type = 'l'
	Char    Type = 'c'
	Block   Type = 'b'
	FIFO    Type = 'p'
	Socket  Type = 's'
)

func (t Type) String() string { return string(rune(t)) }

// MarshalText makes a Type a one-letter JSON string.
func (t Type) MarshalText() ([]byte, error) { return []byte{byte(t)}, nil }

// UnmarshalText reads the one-letter form.
func (t *Type) UnmarshalText(b []byte) error {
	if len(b) != 1 {
		return fmt.Errorf("file type %q: want one letter (f, d, l, c, b, p, s)", b)
	}
	*t = Type(b[0])
	return nil
}

// Entry is the metadata of one path, as recorded and as compared.
type Entry struct {
	Path     string // absolute inside the root: /etc/foo
	Type     Type
	Mode     uint32 // permission, setuid, setgid and sticky bits (st_mode & 07777)
	UID, GID uint32
	Size     int64
	MTime    int64 // nanoseconds since the epoch
	Link     string
}

// ManifestPath is where prepare records the image's filesystem, inside the image root.
const ManifestPath = layout.FSManifestFile

const magic = "appagent-fs-manifest 1\n"

// WriteManifest writes entries (sorted by path) as a gzip'd stream of prefix-compressed
// binary records: ~40k entries of a Debian image take ~300 KB and load in a few ms.
func WriteManifest(w io.Writer, entries []Entry) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	bw.WriteString(magic)
	var buf [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	sv := func(v int64) { bw.Write(buf[:binary.PutVarint(buf[:], v)]) }
	uv(uint64(len(entries)))
	prev := ""
	for _, e := range entries {
		n := commonPrefix(prev, e.Path)
		uv(uint64(n))
		uv(uint64(len(e.Path) - n))
		bw.WriteString(e.Path[n:])
		bw.WriteByte(byte(e.Type))
		uv(uint64(e.Mode))
		uv(uint64(e.UID))
		uv(uint64(e.GID))
		sv(e.Size)
		sv(e.MTime)
		uv(uint64(len(e.Link)))
		bw.WriteString(e.Link)
		prev = e.Path
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// maxEntries and maxString bound what ReadManifest allocates from a corrupt file.
const (
	maxEntries = 50_000_000
	maxString  = 1 << 16
)

// ReadManifest reads what WriteManifest wrote. A damaged file is an error, never a panic.
func ReadManifest(r io.Reader) ([]Entry, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a manifest (gzip): %w", err)
	}
	br := bufio.NewReader(zr)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != magic {
		return nil, errors.New("not an appagent filesystem manifest (bad header)")
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > maxEntries {
		return nil, fmt.Errorf("bad entry count: %v", err)
	}
	out := make([]Entry, 0, min(n, 1<<20))
	prev := ""
	bad := func(i uint64, what string, err error) error {
		return fmt.Errorf("entry %d: bad %s: %v", i, what, err)
	}
	for i := uint64(0); i < n; i++ {
		var e Entry
		pre, err := binary.ReadUvarint(br)
		if err != nil || pre > uint64(len(prev)) {
			return nil, bad(i, "prefix", err)
		}
		suf, err := readString(br)
		if err != nil {
			return nil, bad(i, "path", err)
		}
		e.Path = prev[:pre] + suf
		t, err := br.ReadByte()
		if err != nil {
			return nil, bad(i, "type", err)
		}
		e.Type = Type(t)
		var v [3]uint64
		for j := range v {
			if v[j], err = binary.ReadUvarint(br); err != nil {
				return nil, bad(i, "mode/owner", err)
			}
		}
		e.Mode, e.UID, e.GID = uint32(v[0]), uint32(v[1]), uint32(v[2])
		if e.Size, err = binary.ReadVarint(br); err != nil {
			return nil, bad(i, "size", err)
		}
		if e.MTime, err = binary.ReadVarint(br); err != nil {
			return nil, bad(i, "mtime", err)
		}
		if e.Link, err = readString(br); err != nil {
			return nil, bad(i, "link", err)
		}
		if e.Path <= prev && i > 0 {
			return nil, fmt.Errorf("entry %d: %q is not sorted after %q", i, e.Path, prev)
		}
		out = append(out, e)
		prev = e.Path
	}
	return out, nil
}

func readString(br *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return "", err
	}
	if n > maxString {
		return "", fmt.Errorf("length %d too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// LoadManifest reads the manifest file at path.
func LoadManifest(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	es, err := ReadManifest(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (re-run appagent prepare to record it again)", path, err)
	}
	return es, nil
}

// SaveManifest writes the manifest to path atomically (temporary file in the same directory,
// fsync, rename, fsync of the directory).
func SaveManifest(path string, entries []Entry) error {
	sortEntries(entries)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error { return WriteManifest(w, entries) })
}

// sortEntries orders entries by path, the order Compare and the manifest need.
func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}

var readFile = os.ReadFile
