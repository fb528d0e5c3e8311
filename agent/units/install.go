package units

import (
	"fmt"
	"os"
	"path/filepath"
)

// GeneratorPath is where systemd looks for the generator in an image; it is a symlink to
// Binary, and appagent's main dispatches on the name it was called by.
const GeneratorPath = "/usr/lib/systemd/system-generators/appagent-generator"

// InstallGenerator links the generator into the image under root and runs it once into a
// scratch directory, so that a declaration the generator cannot handle fails the build
// instead of the first boot.
func InstallGenerator(root string) error {
	link := filepath.Join(root, GeneratorPath)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("install the generator: %w", err)
	}
	if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("install the generator: %w", err)
	}
	if err := os.Symlink(Binary, link); err != nil {
		return fmt.Errorf("install the generator: %w", err)
	}
	scratch, err := os.MkdirTemp("", "appagent-generator-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	return RunGenerator(GeneratorOptions{Root: root, Normal: filepath.Join(scratch, "normal"), Early: filepath.Join(scratch, "early")})
}
