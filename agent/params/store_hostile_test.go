package params

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreNeverFollowsAPlantedLink: params.json planted as a symlink to a file outside the
// volume is not read (its content never reaches a message) and not written through; a
// planted .appagent symlink is refused.
func TestStoreNeverFollowsAPlantedLink(t *testing.T) {
	vol, outsideDir := t.TempDir(), t.TempDir()
	outside := filepath.Join(outsideDir, "shadow")
	os.WriteFile(outside, []byte(`{"format":1,"values":{"X":{"value":"root:$6$secret"}}}`), 0o600)
	os.MkdirAll(filepath.Join(vol, StateDir), 0o700)
	if err := os.Symlink(outside, filepath.Join(vol, StateDir, StoredFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadStored(vol); err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), StoredFile) {
		t.Errorf("LoadStored through a planted link: %v", err)
	}
	// Store refuses too (it reads what was stored first); the outside file is untouched.
	set := &Set{Values: []Value{{Name: "X", Value: "new", Source: FromEnv}}}
	_ = Store(vol, set)
	if b, _ := os.ReadFile(outside); !strings.Contains(string(b), "secret") {
		t.Errorf("the file outside the volume was written: %q", b)
	}

	vol2 := t.TempDir()
	os.Symlink(outsideDir, filepath.Join(vol2, StateDir))
	if err := MarkReconfigure(vol2, []string{"X"}); err == nil {
		t.Error("MarkReconfigure wrote through a planted .appagent link")
	}
	if names, _ := os.ReadDir(outsideDir); len(names) != 1 {
		t.Errorf("files appeared outside the volume: %v", names)
	}
}

// TestLoadStoredWithoutVolume: before init made the volume's directory (no volume mounted,
// the path missing from the image), there is nothing stored, and that is no error.
func TestLoadStoredWithoutVolume(t *testing.T) {
	s, err := LoadStored(filepath.Join(t.TempDir(), "not-yet"))
	if err != nil || len(s.Values) != 0 {
		t.Fatalf("%+v %v", s, err)
	}
}
