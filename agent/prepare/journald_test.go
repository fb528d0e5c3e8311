package prepare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstallJournald(t *testing.T) {
	root := t.TempDir()
	if err := InstallJournald(root); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, JournaldDropIn))
	if err != nil {
		t.Fatal(err)
	}
	// The settings docs/logs.md promises: bursts are not dropped, nothing goes to the console.
	for _, want := range []string{"[Journal]", "\nRateLimitIntervalSec=0\n", "\nStorage=volatile\n", "\nForwardToConsole=no\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q", JournaldDropIn, want)
		}
	}
}
