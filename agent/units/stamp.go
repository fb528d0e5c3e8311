package units

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/appagent/appagent/internal/atomicfile"
)

var stampName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._:-]{0,200}$`)

// Stamp records in dir (the volume's .appagent/stamps) that a hook succeeded: each name in
// set becomes a file holding the time, each name in remove is deleted. The hook units call it
// as `appagent stamp` in ExecStartPost=, so a stamp exists only after the hook's success.
// Writes are atomic and synced: a stamp that vanished in a crash would run a hook twice.
func Stamp(dir string, set, remove []string) error {
	for _, n := range append(append([]string{}, set...), remove...) {
		if !stampName.MatchString(n) {
			return fmt.Errorf("stamp: %q is not a stamp name", n)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	for _, n := range remove {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stamp: %w", err)
		}
	}
	for _, n := range set {
		if err := atomicfile.Write(filepath.Join(dir, n), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return fmt.Errorf("stamp %s: %w", n, err)
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	defer d.Close()
	return d.Sync()
}
