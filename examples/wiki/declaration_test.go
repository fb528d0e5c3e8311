// Package wiki holds no Go code of its own: it is the example image (Containerfile,
// appagent.yaml, hooks, units). This test keeps its declaration valid as appagent evolves.
package wiki

import (
	"os"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

// TestDeclarationIsValid parses appagent.yaml exactly as `appagent prepare` does and fails on
// any problem, warnings included: the example is what people copy.
func TestDeclarationIsValid(t *testing.T) {
	data, err := os.ReadFile("appagent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, rep := config.Parse("appagent.yaml", data)
	for _, p := range rep.Problems {
		t.Errorf("%v", p)
	}
	if cfg.Hooks.Configure == nil || cfg.Hooks.Upgrade == nil || cfg.Hooks.Reconfigure == nil {
		t.Errorf("the wiki needs configure, upgrade and reconfigure hooks")
	}
}
