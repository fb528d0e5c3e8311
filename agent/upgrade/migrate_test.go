package upgrade

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/internal/unconfined"

	"github.com/appagent/appagent/agent/confine"
	"github.com/appagent/appagent/agent/exitcode"
)

// A link planted on the volume at a path a migration writes does not lead the write out of
// the volume (issue 12): the step is confined (agent/confine), its write is refused, it
// fails, and the file outside is unchanged.
func TestMigrationConfinedToVolume(t *testing.T) {
	if confine.ABI() == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("Landlock is not available on this CI machine")
		}
		t.Skip("Landlock is not available here")
	}
	// Outside the volume and outside confine.Scratch (t.TempDir is under /tmp).
	outside := unconfined.Dir(t)
	victim := filepath.Join(outside, "passwd")
	if err := os.WriteFile(victim, []byte("root:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	root1, cfg1 := testImage(t, map[string]string{"etc/app/a": "1"}, "version: 1\nvolume:\n  paths: [/etc/app]\n")
	vol := t.TempDir()
	if _, _, err := syncVol(t, root1, vol, cfg1); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(vol, "etc/app/state")); err != nil {
		t.Fatal(err)
	}
	root2, cfg2 := testImage(t, map[string]string{"etc/app/a": "2",
		"usr/libexec/appagent/migrations/1-2": "#!/bin/sh\nset -e\necho migrated > \"$APPAGENT_VOLUME/etc/app/own\"\necho owned > \"$APPAGENT_VOLUME/etc/app/state\"\n"},
		"version: 1\nvolume:\n  paths: [/etc/app]\n  format: 2\n")
	_, out, err := syncVol(t, root2, vol, cfg2)
	if exitcode.Of(err) != exitcode.Upgrade || !strings.Contains(out, "Permission denied") {
		t.Errorf("want the step's write refused and the upgrade failed, got %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(victim); string(got) != "root:x:0:0\n" {
		t.Errorf("the file outside the volume was written: %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(vol, "etc/app/own")); string(got) != "migrated\n" {
		t.Errorf("the step's own write on the volume: %q", got)
	}
}
