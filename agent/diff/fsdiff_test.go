package diff

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/internal/benchtree"
	"github.com/appagent/appagent/internal/goldenfile"

	"github.com/appagent/appagent/agent/config"
)

func TestManifestRoundTrip(t *testing.T) {
	es := []Entry{
		{Path: "/etc", Type: Dir, Mode: 0o755},
		{Path: "/etc/foo", Type: File, Mode: 0o644, UID: 1000, GID: 1000, Size: 12, MTime: 1_700_000_000_123_456_789},
		{Path: "/etc/foo.d", Type: Dir, Mode: 0o2755, GID: 4},
		{Path: "/lib", Type: Symlink, Mode: 0o777, Size: 7, Link: "usr/lib"},
		{Path: "/old", Type: File, MTime: -5},
	}
	var buf bytes.Buffer
	if err := WriteManifest(&buf, es); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, es) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, es)
	}
}

func FuzzReadManifest(f *testing.F) {
	var buf bytes.Buffer
	WriteManifest(&buf, []Entry{{Path: "/a", Type: Dir}, {Path: "/a/b", Type: File, Size: 3}, {Path: "/c", Type: Symlink, Link: "a"}})
	f.Add(buf.Bytes())
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ReadManifest(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < len(es); i++ {
			if es[i].Path <= es[i-1].Path {
				t.Fatalf("unsorted entries accepted: %q after %q", es[i].Path, es[i-1].Path)
			}
		}
	})
}

func TestCompare(t *testing.T) {
	f := func(p string, size int64, mtime int64) Entry {
		return Entry{Path: p, Type: File, Mode: 0o644, Size: size, MTime: mtime}
	}
	d := func(p string, mtime int64) Entry { return Entry{Path: p, Type: Dir, Mode: 0o755, MTime: mtime} }
	cases := []struct {
		name     string
		old, cur []Entry
		want     []Change
	}{
		{"same", []Entry{d("/etc", 1), f("/etc/a", 1, 1)}, []Entry{d("/etc", 1), f("/etc/a", 1, 1)}, nil},
		{"directory mtime alone is no change", []Entry{d("/etc", 1)}, []Entry{d("/etc", 9)}, nil},
		{"added file", []Entry{d("/etc", 1)}, []Entry{d("/etc", 2), f("/etc/foo", 3, 2)},
			[]Change{{Path: "/etc/foo", Kind: Added, Type: File}}},
		{"changed size and mtime", []Entry{f("/etc/a", 1, 1)}, []Entry{f("/etc/a", 2, 2)},
			[]Change{{Path: "/etc/a", Kind: Changed, Type: File, What: []string{"size", "mtime"}}}},
		{"mode and owner", []Entry{f("/etc/a", 1, 1)}, []Entry{{Path: "/etc/a", Type: File, Mode: 0o600, UID: 5, Size: 1, MTime: 1}},
			[]Change{{Path: "/etc/a", Kind: Changed, Type: File, What: []string{"mode", "owner"}}}},
		{"type", []Entry{f("/etc/a", 1, 1)}, []Entry{d("/etc/a", 1)},
			[]Change{{Path: "/etc/a", Kind: Changed, Type: Dir, What: []string{"type"}}}},
		{"mtime cut to whole seconds by an image layer", []Entry{f("/etc/a", 1, 1_700_000_000_123_456_789)}, []Entry{f("/etc/a", 1, 1_700_000_000_000_000_000)}, nil},
		{"mtime moved by a second", []Entry{f("/etc/a", 1, 1_700_000_000_123_456_789)}, []Entry{f("/etc/a", 1, 1_700_000_001_000_000_000)},
			[]Change{{Path: "/etc/a", Kind: Changed, Type: File, What: []string{"mtime"}}}},
		{"symlink target", []Entry{{Path: "/x", Type: Symlink, Link: "/data/x"}}, []Entry{{Path: "/x", Type: Symlink, Link: "/elsewhere"}},
			[]Change{{Path: "/x", Kind: Changed, Type: Symlink, What: []string{"target"}}}},
		{"added directory folds its entries", nil, []Entry{d("/var/lib/x", 1), f("/var/lib/x-y", 1, 1), f("/var/lib/x/a", 1, 1), d("/var/lib/x/b", 1), f("/var/lib/x/b/c", 1, 1)},
			[]Change{{Path: "/var/lib/x", Kind: Added, Type: Dir, Below: 3}, {Path: "/var/lib/x-y", Kind: Added, Type: File}}},
		{"deleted directory folds its entries", []Entry{d("/opt/app", 1), f("/opt/app/a", 1, 1)}, nil,
			[]Change{{Path: "/opt/app", Kind: Deleted, Type: Dir, Below: 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(tc.old, tc.cur)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	cases := []struct {
		changes []Change
		want    []string
	}{
		{[]Change{{Path: "/etc/foo", Kind: Added, Type: File}}, []string{"/etc/foo"}},
		{[]Change{{Path: "/var/lib/x/a", Kind: Added}, {Path: "/var/lib/x/b", Kind: Changed}}, []string{"/var/lib/x"}},
		{[]Change{{Path: "/var/lib/x", Kind: Added, Type: Dir, Below: 40}}, []string{"/var/lib/x"}},
		{[]Change{{Path: "/etc/apache2/sites-enabled/a.conf", Kind: Added}, {Path: "/etc/apache2/apache2.conf", Kind: Changed}, {Path: "/etc/foo", Kind: Deleted}},
			[]string{"/etc/apache2", "/etc/foo"}},
		{[]Change{{Path: "/etc/apache2/apache2.conf", Kind: Changed}}, []string{"/etc/apache2/apache2.conf"}},
		{[]Change{{Path: "/root/.bash_history", Kind: Added}}, []string{"/root/.bash_history"}},
		{[]Change{{Path: "/usr/lib/systemd/system/a.service", Kind: Changed}, {Path: "/usr/lib/systemd/b.conf", Kind: Changed}}, []string{"/usr/lib/systemd"}},
		{[]Change{{Path: "/etc", Kind: Changed, Type: Dir, What: []string{"mode"}}}, nil},
		{[]Change{{Path: "/var/lib", Kind: Changed, Type: Dir}, {Path: "/var/lib/x", Kind: Added, Type: Dir, Below: 2}}, []string{"/var/lib/x"}},
		{nil, nil},
	}
	for _, tc := range cases {
		if got := Suggest(tc.changes); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %v want %v", tc.changes, got, tc.want)
		}
	}
}

// writeTree makes files (path -> content; a trailing / makes a directory, "->x" a symlink).
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecordAndDiff(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"/etc/app.conf":                  "a=1\n",
		"/etc/cron.d/backup":             "0 1 * * * root backup\n",
		"/etc/machine-id":                "",
		"/usr/bin/app":                   "#!/bin/sh\n",
		"/var/lib/mysql":                 "->/data/var/lib/mysql",
		"/var/lib/systemd/":              "",
		"/usr/share/appagent/template/x": "template content",
		"/data/":                         "",
		"/tmp/":                          "",
		"/srv/cache/":                    "",
	})
	cfg := &config.Config{File: "/etc/appagent/appagent.yaml", Volume: config.Volume{Path: "/data", Template: "/usr/share/appagent/template"},
		Diff: config.Diff{Ignore: []string{"/srv/cache"}}}
	n, err := Record(Options{Root: root, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("recorded %d entries", n)
	}
	es, err := LoadManifest(filepath.Join(root, ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		for _, bad := range []string{"/data", "/tmp", "/usr/share/appagent/template", "/srv/cache"} {
			if under(e.Path, bad) {
				t.Errorf("recorded %s, which is ignored", e.Path)
			}
		}
	}

	// A clean "boot": only ignored places change.
	writeTree(t, root, map[string]string{
		"/data/var/lib/mysql/ibdata1":    "db",
		"/tmp/x":                         "tmp",
		"/var/lib/systemd/random-seed":   "seed",
		"/srv/cache/blob":                "cache",
		"/usr/share/appagent/template/y": "new",
	})
	os.WriteFile(filepath.Join(root, "/etc/machine-id"), []byte("0123456789abcdef0123456789abcdef\n"), 0o444)
	r, err := Diff(Options{Root: root, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Empty() {
		t.Fatalf("clean boot: %+v", r.Changes)
	}

	// Writes outside the volume.
	time.Sleep(10 * time.Millisecond)
	writeTree(t, root, map[string]string{
		"/etc/foo":            "bar\n",
		"/var/lib/x/a":        "1",
		"/var/lib/x/b/c":      "2",
		"/root/.bash_history": "ls\n",
	})
	os.WriteFile(filepath.Join(root, "/etc/app.conf"), []byte("a=2\n"), 0o644)
	os.Remove(filepath.Join(root, "/etc/cron.d/backup"))
	os.Chmod(filepath.Join(root, "/usr/bin/app"), 0o700)
	r, err = Diff(Options{Root: root, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	r.Root, r.Elapsed = "ROOT", "1ms" // stable golden files
	var text bytes.Buffer
	r.WriteText(&text, "/data", cfg.File)
	goldenfile.Check(t, "diff.txt", text.Bytes())
	js, _ := json.MarshalIndent(r, "", "  ")
	goldenfile.Check(t, "diff.json", append(js, '\n'))
	if want := []string{"/etc/app.conf", "/etc/cron.d/backup", "/etc/foo", "/root", "/usr/bin/app", "/var/lib/x"}; !reflect.DeepEqual(r.Suggest, want) {
		t.Errorf("suggest %v, want %v", r.Suggest, want)
	}
}

// BenchmarkDiff compares a diff of a real root (APPAGENT_BENCH_ROOT, default /usr; with
// APPAGENT_BENCH_SCALE, make bench-large's, the generated wiki-shaped tree of that scale) with
// `find -printf` of the same metadata over the same tree, the cheapest walk a shell script
// could do. The two alternate, after one warm-up each, so both see the same page cache and
// machine load; x_find > 1 means diff is faster than find.
func BenchmarkDiff(b *testing.B) {
	root := os.Getenv("APPAGENT_BENCH_ROOT")
	switch {
	case root != "":
	case os.Getenv("APPAGENT_BENCH_SCALE") != "":
		root = benchtree.Template(benchtree.Key(benchtree.Scale()))
		if _, err := os.Stat(root); err != nil {
			b.Fatalf("the tree of scale %d is made by agent/upgrade's benchmarks (make bench-large runs them first): %v", benchtree.Scale(), err)
		}
	default:
		root = "/usr"
	}
	cfg := &config.Config{Volume: config.Volume{Path: "/data", Template: "/usr/share/appagent/template"}}
	manifest := filepath.Join(b.TempDir(), "fs-manifest")
	w := &Walker{Root: root, Skip: NewIgnore().Skip}
	es, _ := w.Walk()
	if err := SaveManifest(manifest, es); err != nil {
		b.Fatal(err)
	}
	diff := func() time.Duration {
		start := time.Now()
		old, err := LoadManifest(manifest)
		if err != nil {
			b.Fatal(err)
		}
		w := &Walker{Root: root, Skip: NewIgnore(cfg.Volume.Path).Skip}
		cur, _ := w.Walk()
		Compare(old, cur)
		return time.Since(start)
	}
	diff()
	timeFind(b, root, 1)
	b.ResetTimer()
	var diffTime, findTime time.Duration
	for i := 0; i < b.N; i++ {
		diffTime += diff()
		b.StopTimer()
		findTime += timeFind(b, root, 1)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(len(es)), "entries")
	b.ReportMetric(float64(diffTime.Milliseconds())/float64(b.N), "ms/diff")
	b.ReportMetric(float64(findTime.Milliseconds())/float64(b.N), "ms/find")
	b.ReportMetric(float64(findTime)/float64(diffTime), "x_find")
}

// A broad directory's own change is shown, but volume.paths can not keep it: the report must
// not tell to add /etc to the volume, nor promise a list it does not print.
func TestWriteTextBroadDirectoryChange(t *testing.T) {
	cs := []Change{{Path: "/etc", Kind: Changed, Type: Dir, What: []string{"mode"}}}
	r := &Report{Changes: cs, Suggest: Suggest(cs), Walked: 10, Elapsed: "1ms"}
	var b bytes.Buffer
	r.WriteText(&b, "/data", "/etc/appagent/appagent.yaml")
	out := b.String()
	if strings.Contains(out, "add these paths") || strings.Contains(out, "  - /etc\n") {
		t.Errorf("suggests keeping /etc on the volume:\n%s", out)
	}
	if !strings.Contains(out, "C /etc/  (mode)") || !strings.Contains(out, "make the change in the image") {
		t.Errorf("report lacks the change or its fix:\n%s", out)
	}
}

// under tells whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
