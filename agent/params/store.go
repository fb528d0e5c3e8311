package params

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/upgrade"
)

// StateDir is appagent's directory on the volume (agent/upgrade owns the name).
const StateDir = upgrade.StateDir

// StoredFile is the name of the parameters' file in StateDir. It holds secret values too, so
// it is written 0600 (root only).
const StoredFile = layout.ParamsName

// storedFormat is the version of params.json's layout.
const storedFormat = 1

// Stored are the parameter values kept on the volume: those given at an earlier start (by env,
// NAME_FILE or a secret file). Defaults are not stored, so a new image's default applies.
type Stored struct {
	Format int                    `json:"format"`
	Values map[string]StoredValue `json:"values"`
}

// StoredValue is one kept value and where it came from.
type StoredValue struct {
	Value  string `json:"value"`
	Source Source `json:"source"`
}

// StoredPath returns the parameters' file on a volume.
func StoredPath(volume string) string { return filepath.Join(volume, StateDir, StoredFile) }

// LoadStored reads the values kept on the volume; a volume without them (first start) gives
// an empty set and no error.
func LoadStored(volume string) (*Stored, error) {
	path := StoredPath(volume)
	data, err := readVolume(volume, storedRel, maxStored)
	if err != nil {
		return nil, fmt.Errorf("reading the stored parameters: %w", err)
	}
	if data == nil {
		return &Stored{Format: storedFormat, Values: map[string]StoredValue{}}, nil
	}
	var s Stored
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("the stored parameters %s are damaged (%s); remove the file and start again with every parameter given", path, jsonProblem(err))
	}
	if s.Format > storedFormat {
		return nil, fmt.Errorf("the stored parameters %s have format %d, newer than this appagent knows (%d); use the newer image", path, s.Format, storedFormat)
	}
	if s.Values == nil {
		s.Values = map[string]StoredValue{}
	}
	return &s, nil
}

// jsonProblem says where params.json is broken without quoting it: encoding/json's syntax
// errors show the offending byte, which can be a byte of a secret.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong type at byte %d", te.Field, te.Offset)
	}
	return "not valid JSON"
}

// Store keeps the given values of set on the volume, next to those stored before for
// parameters the image no longer declares (an image downgrade must not lose them). The write
// is atomic and the file is 0600.
func Store(volume string, set *Set) error {
	old, err := LoadStored(volume)
	if err != nil {
		return err
	}
	s := Stored{Format: storedFormat, Values: old.Values}
	for _, v := range set.Values {
		if v.Source.given() {
			s.Values[v.Name] = StoredValue{Value: v.Value, Source: v.Source}
		}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := writeVolume(volume, storedRel, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("storing the parameters: %w", err)
	}
	return nil
}

// storedRel is params.json relative to the volume; maxStored bounds its read (the volume is
// untrusted: a sparse file of gigabytes must not cost gigabytes).
const (
	storedRel = layout.ParamsFile
	maxStored = 4 << 20
)

// readVolume reads rel of the volume through agent/upgrade's no-follow layer (nil: missing).
func readVolume(volume, rel string, max int64) ([]byte, error) {
	vol, err := upgrade.OpenVolume(volume)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no volume yet (init creates its directory after this read)
	}
	if err != nil {
		return nil, err
	}
	defer vol.Close()
	return vol.ReadFile(rel, max)
}

// writeVolume writes rel of the volume atomically, creating its directory, through the
// no-follow layer: a symlink planted at rel or at a parent is never followed.
func writeVolume(volume, rel string, data []byte, perm uint32) error {
	vol, err := upgrade.OpenVolume(volume)
	if err != nil {
		return err
	}
	defer vol.Close()
	if err := vol.MkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	return vol.WriteFile(rel, data, perm)
}

// StampsDir holds the hooks' stamps on the volume (relative to the volume); agent/units
// names the same files in its hook units.
const StampsDir = layout.StampsDir

// ConfiguredStamp is the configure hook's stamp: the volume's application data is set up,
// the hook does not run again.
const ConfiguredStamp = layout.ConfiguredStamp

// ReconfigurePending is the stamp that asks for the reconfigure hook. It is an
// EnvironmentFile for the hook: APPAGENT_CHANGED="NAME1 NAME2". The hook unit removes it
// after success, so a failed reconfigure is tried again at the next start.
const ReconfigurePending = layout.ReconfigurePending

// MarkReconfigure records that the named parameters changed. Names already pending from an
// earlier start whose hook did not succeed are kept. No names: nothing is written.
func MarkReconfigure(volume string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	rel := StampsDir + "/" + ReconfigurePending
	all := map[string]bool{}
	if data, err := readVolume(volume, rel, 1<<20); err == nil && data != nil {
		if m, err := ParseEnvFile(string(data)); err == nil {
			for _, n := range strings.Fields(m["APPAGENT_CHANGED"]) {
				all[n] = true
			}
		}
	}
	for _, n := range names {
		all[n] = true
	}
	list := make([]string, 0, len(all))
	for n := range all {
		list = append(list, n)
	}
	sort.Strings(list)
	text := "# Written by appagent init: parameters changed since the last start; the reconfigure hook removes this file.\n" +
		EnvLine("APPAGENT_CHANGED", strings.Join(list, " "))
	if err := writeVolume(volume, rel, []byte(text), 0o644); err != nil {
		return fmt.Errorf("marking the reconfigure hook: %w", err)
	}
	return nil
}
