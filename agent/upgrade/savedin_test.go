package upgrade

import (
	"strings"
	"testing"
)

// The failure message must never say "saved first in " with nothing after it.
func TestSavedIn(t *testing.T) {
	if got := savedIn(""); strings.Contains(got, "saved first in") {
		t.Errorf("no backup: %q", got)
	}
	if got := savedIn("/data/.appagent/backup/x"); !strings.Contains(got, "saved first in /data/.appagent/backup/x") {
		t.Errorf("with a backup: %q", got)
	}
}
