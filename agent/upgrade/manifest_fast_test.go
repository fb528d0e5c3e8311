package upgrade

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// canonicalSeeds are manifests as Marshal writes them, with every optional field, odd
// names (spaces, UTF-8, characters json.Marshal escapes), negative ids and no entries.
func canonicalSeeds(t testing.TB) [][]byte {
	ms := []Manifest{
		{Version: 1, BuildID: "20261202-abc", Format: 1, Volume: "/data", Paths: []string{"etc/app", "var/lib/app"}, Entries: []Entry{
			{Path: "etc", Type: TypeDir, Mode: 0o755},
			{Path: "etc/app", Type: TypeDir, Mode: 0o2750, UID: 0, GID: 33},
			{Path: "etc/app/a b.conf", Type: TypeFile, Mode: 0o640, GID: 33, Size: 12, SHA256: strings.Repeat("ab", 32)},
			{Path: "etc/app/current", Type: TypeSymlink, Mode: 0o777, Target: "../x <y> & z"},
			{Path: "etc/app/dev", Type: TypeChar, Mode: 0o600, Rdev: 259},
			{Path: "etc/app/link", Type: TypeFile, Mode: 0o600, UID: -1, GID: 65534, Link: "etc/app/a b.conf"},
			{Path: "etc/app/ünïcode\u2028", Type: TypeFifo, Mode: 0o620},
		}},
		{Version: 1, BuildID: "x", Format: 3, Volume: "/srv", Paths: []string{}, Entries: []Entry{}},
		{Version: 1, Format: 1, Entries: []Entry{{Path: "one", Type: TypeFile, Size: 0}}},
	}
	var out [][]byte
	for _, m := range ms {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// The hand-written reader yields what encoding/json yields, and it does read the layout
// Marshal writes (else the population would silently pay for encoding/json again).
func TestDecodeCanonical(t *testing.T) {
	seeds := canonicalSeeds(t)
	for i, b := range seeds {
		want, err := decodeJSON("m", b)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeCanonical(b)
		// Lines with a character json.Marshal escapes are left to encoding/json.
		escapes := bytes.Contains(b, []byte(`\u`))
		if ok == escapes {
			t.Errorf("seed %d: canonical reader ok=%v (escapes in it: %v)", i, ok, escapes)
		}
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	// The wiki-shaped tree's layout: no escapes, every line read by hand.
	m := Manifest{Version: 1, Format: 1, BuildID: "b", Volume: "/data"}
	for i := 0; i < 1000; i++ {
		m.Entries = append(m.Entries, Entry{Path: "usr/share/wiki/f" + strings.Repeat("x", i%7), Type: TypeFile, Mode: 0o644, Size: int64(i), SHA256: strings.Repeat("0", 64)})
	}
	b, _ := m.Marshal()
	if _, ok := decodeCanonical(b); !ok {
		t.Error("a plain manifest was not read by the canonical reader")
	}
	for _, bad := range []string{
		"", "{}", "{\"manifest_version\":1,\"entries\":[\n]}", // no final newline
		"{\"manifest_version\":1,\"entries\":[\n]}\n{}", "{\"manifest_version\":1,\"bogus\":1,\"entries\":[\n]}\n",
		"{\"manifest_version\":1,\"entries\":[\n{\"path\":\"a\",\"type\":\"file\",\"mode\":0644,\"uid\":0,\"gid\":0}\n]}\n",
		"{\"manifest_version\":1,\"entries\":[\n{\"path\":\"a\",\"type\":\"file\",\"mode\":1e2,\"uid\":0,\"gid\":0}\n]}\n",
		"{\"manifest_version\":1,\"entries\":[\n{\"path\":\"a\",\"type\":\"file\",\"mode\":420,\"uid\":0,\"gid\":0,\"x\":1}\n]}\n",
		"{\"manifest_version\":1,\"entries\":[\n{\"path\":\"a\",\"type\":\"file\",\"mode\":420,\"uid\":0,\"gid\":0},\n]}\n",
	} {
		if _, ok := decodeCanonical([]byte(bad)); ok {
			t.Errorf("%q: read by the canonical reader", bad)
		}
	}
}

// Whatever the volume holds: when the canonical reader takes it, encoding/json takes it too
// and yields the same manifest.
func FuzzDecodeCanonical(f *testing.F) {
	for _, b := range canonicalSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := decodeCanonical(b)
		if !ok {
			return
		}
		want, err := decodeJSON("m", b)
		if err != nil {
			t.Fatalf("canonical reader took what encoding/json refuses (%v):\n%q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
		}
	})
}
