package integration

import (
	"os"
	"path/filepath"
	"testing"
)

// enableUnits enables units of /etc/systemd/system in a container root (host path) the way
// `systemctl enable` would for WantedBy=multi-user.target; use it as nspawn.Options.Setup.
func enableUnits(names ...string) func(t testing.TB, root string) {
	return func(t testing.TB, root string) {
		t.Helper()
		wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
		if err := os.MkdirAll(wants, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.Symlink("/etc/systemd/system/"+n, filepath.Join(wants, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
}
