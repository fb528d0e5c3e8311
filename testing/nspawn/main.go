package nspawn

import (
	"fmt"
	"os"
	"testing"

	"github.com/appagent/appagent/testing/internal/harness"
)

// Main runs a package's tests and then removes this test process's work directory
// (/var/tmp/appagent-test/p<pid>-<start>: the appagent binary and anything a cleanup missed).
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { nspawn.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := harness.RemoveOwnerDir(); err != nil {
		fmt.Fprintf(os.Stderr, "nspawn: after the tests: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
