package nspawn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/testing/internal/harness"
)

// Sweep removes, once per test process, what earlier crashed test processes left under
// /var/tmp/appagent-test: it kills their containers, unmounts their overlays and removes
// their directories and nspawn's runtime state. Require and Boot call it.
func Sweep(t testing.TB) {
	t.Helper()
	for _, m := range harness.Sweep(func(dir string) {
		if b, err := os.ReadFile(filepath.Join(dir, "machine")); err == nil {
			if name := strings.TrimSpace(string(b)); name != "" && !strings.ContainsAny(name, "/.") {
				_ = os.RemoveAll(filepath.Join("/run/systemd/nspawn/propagate", name))
			}
		}
	}) {
		t.Logf("nspawn: %s", m)
	}
}

// Require skips the test in -short mode or when root, systemd-nspawn, debootstrap or
// nsenter is missing; with CI=true it fails instead of skipping. It also sweeps leftovers.
func Require(t testing.TB) {
	t.Helper()
	harness.Require(t, "nspawn", "systemd-nspawn", "debootstrap", "nsenter", "journalctl")
	Sweep(t)
}
