package units

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/appagent/appagent/agent/layout"

	"github.com/appagent/appagent/agent/config"
)

// HookUnit is one of the hook units a declaration gets.
type HookUnit struct {
	Hook string // configure, upgrade, join, reconfigure
	Unit string
	// Declared is false for the configure unit of an image with only an upgrade hook: it
	// runs no command of the image, it only marks the volume configured.
	Declared bool
}

// HookUnits lists the hook units Generate makes for cfg, in the order they run. It is the one
// list: status, doctor and the generator read it. buildID is the image's (ImageBuildID).
func HookUnits(cfg *config.Config, buildID string) []HookUnit {
	h := cfg.Hooks
	hasBuild := buildID != "" && layout.ValidBuildID(buildID)
	var out []HookUnit
	if h.Configure != nil || (h.Upgrade != nil && hasBuild) {
		out = append(out, HookUnit{"configure", ConfigureUnit, h.Configure != nil})
	}
	if h.Upgrade != nil && hasBuild {
		out = append(out, HookUnit{"upgrade", UpgradeUnit, true})
	}
	if h.Join != nil && cfg.Replication != nil {
		out = append(out, HookUnit{"join", JoinUnit, true})
	}
	if h.Reconfigure != nil {
		out = append(out, HookUnit{"reconfigure", ReconfigureUnit, true})
	}
	return out
}

// ImageBuildID is the build id prepare wrote into the image under root ("" when none).
func ImageBuildID(root string) string {
	data, err := os.ReadFile(filepath.Join("/", root, BuildIDFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
