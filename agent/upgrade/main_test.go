package upgrade

import (
	"fmt"
	"os"
	"testing"

	"github.com/appagent/appagent/agent/confine"
)

// TestMain lets the test binary stand in for appagent's confine command: migrations run
// through /proc/self/exe, which in these tests is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == confine.Command {
		var write []string
		a := os.Args[2:]
		for len(a) > 1 && a[0] == "--write" {
			write, a = append(write, a[1]), a[2:]
		}
		if len(a) > 0 && a[0] == "--" {
			a = a[1:]
		}
		fmt.Fprintln(os.Stderr, confine.Exec(write, a, os.Environ()))
		os.Exit(1)
	}
	os.Exit(m.Run())
}
