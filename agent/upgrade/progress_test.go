package upgrade

import (
	"io"
	"testing"
	"time"
)

// The stall knob is not the environment's to set: a production binary started with
// APPAGENT_TEST_STALL_AFTER=1 (podman run -e …) must not hang.
func TestStallEnvIgnoredOutsideTests(t *testing.T) {
	t.Setenv(StallEnv, "1")
	done := make(chan bool)
	go func() {
		p := startProgress(io.Discard, "populating", 3, 3, time.Hour)
		p.add(1)
		p.add(1)
		p.finish()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s in the environment made populate stall", StallEnv)
	}
}
