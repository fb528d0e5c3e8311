package image

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
		if err := writeFileAtomic(dst, data, 0o644); err != nil {
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

// writeFileAtomic writes via a temporary file in the same directory and a rename, so a crash
// never leaves a half-written file in place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".appagent-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
