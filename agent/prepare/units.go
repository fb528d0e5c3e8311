package prepare

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/appagent/appagent/internal/atomicfile"

	"github.com/appagent/appagent/units"
)

// SystemUnitDir is where an image's vendor units live. appagent installs and enables its own
// units there rather than in /etc/systemd/system, because /etc/systemd/system is often kept on
// the volume: an enablement there would belong to the volume, not to the image.
const SystemUnitDir = "/usr/lib/systemd/system"

// InstallUnits writes appagent's shipped units under root and enables those with an [Install]
// WantedBy=multi-user.target, by a symlink in the vendor directory.
func InstallUnits(root string) error {
	dir := filepath.Join(root, SystemUnitDir)
	wants := filepath.Join(dir, "multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return fmt.Errorf("units: %w", err)
	}
	return fs.WalkDir(units.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := units.FS.ReadFile(name)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, name)
		if err := atomicfile.Write(dst, data, 0o644); err != nil {
			return fmt.Errorf("units: install %s: %w", dst, err)
		}
		if name == "appagent.service" {
			link := filepath.Join(wants, name)
			_ = os.Remove(link)
			if err := os.Symlink("../"+name, link); err != nil {
				return fmt.Errorf("units: enable %s: %w", name, err)
			}
		}
		return nil
	})
}
