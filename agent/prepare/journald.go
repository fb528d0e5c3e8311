package prepare

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/appagent/appagent/internal/atomicfile"
	"github.com/appagent/appagent/units"
)

// JournaldDropIn is where appagent's journald settings go in an image. A vendor drop-in
// (/usr/lib) so that an image's or a volume's /etc/systemd/journald.conf.d/ can override it.
const JournaldDropIn = "/usr/lib/systemd/journald.conf.d/appagent.conf"

// InstallJournald writes appagent's journald drop-in under root: no rate limit (bursts must
// not be dropped), volatile storage (the runtime keeps the logs), no console forwarding (no
// line printed twice with -t). See docs/logs.md.
func InstallJournald(root string) error {
	dst := filepath.Join(root, JournaldDropIn)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("journald: %w", err)
	}
	if err := atomicfile.Write(dst, units.JournaldConf, 0o644); err != nil {
		return fmt.Errorf("journald: install %s: %w", dst, err)
	}
	return nil
}
