//go:build appagent_testknobs

package upgrade

import (
	"os"
	"strconv"
)

// A binary built with -tags appagent_testknobs (testing/nspawn.KnobsBinary, for the
// integration tests that kill init half-way) takes the stall knob from the environment.
// The production build has no such file.
func init() {
	if n, err := strconv.ParseInt(os.Getenv(StallEnv), 10, 64); err == nil && n > 0 {
		testStallAfter = n
	}
}
