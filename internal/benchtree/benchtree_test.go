package benchtree

import (
	"os"
	"path/filepath"
	"testing"
)

func TestScaleAndKey(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
		key  string
	}{{"", 1, "v1-27k"}, {"10", 10, "v1-270k"}, {"3", 3, "v1-81k"}, {"0", 1, "v1-27k"}, {"-2", 1, "v1-27k"}, {"ten", 1, "v1-27k"}} {
		t.Setenv("APPAGENT_BENCH_SCALE", tc.env)
		if got := Scale(); got != tc.want || Key(got) != tc.key {
			t.Errorf("APPAGENT_BENCH_SCALE=%q: scale %d key %s, want %d %s", tc.env, got, Key(got), tc.want, tc.key)
		}
	}
}

// The same seed makes the same tree: the cached tree and a new one are interchangeable.
func TestGenerateIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if err := Generate(d, 42, 120, 1); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || string(x) != string(y) {
			t.Errorf("%s differs between two trees of one seed (%v)", rel, err)
		}
		n++
		return nil
	})
	if n != 122 {
		t.Errorf("%d files, want 122: the 120 small ones, the hard link of f00001 and the large one", n)
	}
}
