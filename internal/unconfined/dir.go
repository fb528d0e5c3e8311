package unconfined

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/confine"
)

// Base is where the directories are made: beside the test harness's cache, which tests own.
const Base = "/var/cache/appagent-test/unconfined"

// Dir makes a fresh directory under Base, removed when the test ends. It skips the test when
// Base cannot be made (not root), or fails it under CI=true.
func Dir(t testing.TB) string {
	t.Helper()
	if err := os.MkdirAll(Base, 0o755); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a directory outside the scratch directories: %v", err)
		}
		t.Skipf("needs %s (run as root): %v", Base, err)
	}
	d, err := os.MkdirTemp(Base, "t-")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range confine.Scratch {
		if d == s || strings.HasPrefix(d, filepath.Clean(s)+"/") {
			t.Fatalf("%s is beneath the scratch directory %s", d, s)
		}
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
