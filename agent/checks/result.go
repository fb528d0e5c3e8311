package checks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/internal/atomicfile"
)

// ResultsFile is where the agent publishes the checks' results.
var ResultsFile = layout.ChecksFile

// The states of a check.
const (
	Pending = "pending" // not passed yet, within its start period
	Passing = "passing"
	Failing = "failing" // failed retries times in a row
)

// Result is one check's state as status shows it (docs/status.md, "checks").
type Result struct {
	Name     string     `json:"name"`
	Unit     string     `json:"unit,omitempty"`
	Kind     string     `json:"kind"`   // command, http or tcp
	Target   string     `json:"target"` // the command line, the URL or host:port
	State    string     `json:"state"`
	OnFail   string     `json:"on_fail"` // degraded or failed
	Since    *time.Time `json:"since"`   // when the state began
	LastRun  *time.Time `json:"last_run"`
	Failures int        `json:"failures"` // in a row
	Output   string     `json:"output"`   // of the last run, one line, at most MaxOutput bytes
}

// MaxOutput bounds a result's output.
const MaxOutput = 300

// File is the published document.
type File struct {
	Schema    int       `json:"schema"`
	UpdatedAt time.Time `json:"updated_at"`
	Checks    []Result  `json:"checks"`
}

const schema = 1

// maxFile bounds what Read reads.
const maxFile = 1 << 20

// Write publishes results atomically.
func Write(path string, results []Result) error {
	data, err := json.MarshalIndent(File{Schema: schema, UpdatedAt: time.Now().UTC().Truncate(time.Millisecond), Checks: results}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checks: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("checks: publish %s: %w", path, err)
	}
	return nil
}

// Read reads the published results; a missing file gives (nil, nil): the agent has not run
// the checks yet.
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return nil, err
	}
	var doc File
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("checks: %s: %w", path, err)
	}
	return &doc, nil
}
