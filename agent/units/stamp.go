package units

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/layout"

	"github.com/appagent/appagent/agent/params"
	"github.com/appagent/appagent/agent/upgrade"
)

// Stamp records in dir (the volume's .appagent/stamps) that a hook succeeded: each name in
// set becomes a file holding the time, each name in remove is deleted. The hook units call it
// as `appagent stamp` in ExecStartPost=, so a stamp exists only after the hook's success.
// Writes are atomic and synced: a stamp that vanished in a crash would run a hook twice.
// They go through agent/upgrade's no-follow layer from the volume's root: a stamps directory
// planted as a symlink (to /etc, say) is refused, never written through.
func Stamp(dir string, set, remove []string) error {
	for _, n := range append(append([]string{}, set...), remove...) {
		if !layout.ValidStampName(n) {
			return fmt.Errorf("stamp: %q is not a stamp name", n)
		}
	}
	volume, ok := strings.CutSuffix(filepath.Clean(dir), "/"+params.StampsDir)
	if !ok || volume == "" {
		return fmt.Errorf("stamp: %s is not a volume's %s directory", dir, params.StampsDir)
	}
	vol, err := upgrade.OpenVolume(volume)
	if err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	defer vol.Close()
	if err := vol.MkdirAll(params.StampsDir); err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	for _, n := range remove {
		if err := vol.Remove(params.StampsDir + "/" + n); err != nil {
			return fmt.Errorf("stamp: %w", err)
		}
	}
	for _, n := range set {
		if err := vol.WriteFile(params.StampsDir+"/"+n, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return fmt.Errorf("stamp %s: %w", n, err)
		}
	}
	if err := vol.SyncDir(params.StampsDir); err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	return nil
}
