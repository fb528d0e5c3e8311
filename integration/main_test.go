package integration

import (
	"testing"

	"github.com/appagent/appagent/testing/nspawn"
)

// TestMain removes this test process's harness work directory after the tests.
func TestMain(m *testing.M) { nspawn.Main(m) }
