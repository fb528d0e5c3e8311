package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether CI=true: then a test that cannot run fails instead of skipping.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require skips t (in -short mode, or when something is missing) or, with CI=true and
// something missing, fails it. what names the harness for messages; tools must be in PATH.
func Require(t testing.TB, what string, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: integration test skipped in -short mode", what)
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (run the tests as root: sudo -E make test)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, fmt.Sprintf("%s in PATH", tool))
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("%s: cannot run: missing %s; `bash .ci/run` installs everything (see docs/testing.md)",
		what, strings.Join(missing, ", "))
	if InCI() {
		t.Fatalf("%s [CI=true: failing instead of skipping]", msg)
	}
	t.Skip(msg)
}
