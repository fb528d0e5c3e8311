package logfwd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/internal/atomicfile"
)

// DefaultCursorFile keeps the cursor of the last entry written to stdout. /run lives as long as
// the container's boot: an agent restart resumes after it, a new container (with a new,
// volatile journal) starts at the beginning of its boot.
const DefaultCursorFile = layout.CursorFile

// LoadCursor returns the stored cursor, "" when there is none.
func LoadCursor(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("logfwd: read cursor %s: %w", path, err)
	}
	c := strings.TrimSpace(string(data))
	if strings.ContainsAny(c, "\n\x00") || !strings.HasPrefix(c, "s=") {
		return "", fmt.Errorf("logfwd: %s does not hold a journal cursor (remove it to start at the beginning of this boot)", path)
	}
	return c, nil
}

// SaveCursor writes the cursor atomically (temp file in the same directory, fsync, rename,
// fsync the directory).
func SaveCursor(path, cursor string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("logfwd: save cursor: %w", err)
	}
	if err := atomicfile.Write(path, []byte(cursor+"\n"), 0o644); err != nil {
		return fmt.Errorf("logfwd: save cursor: %w", err)
	}
	return nil
}
