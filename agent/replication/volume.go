package replication

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/upgrade"
)

// Record is the role a volume was set up for, kept in layout.RoleFile.
type Record struct {
	Role  string    `json:"role"`
	Since time.Time `json:"since"`
	From  string    `json:"from"`
}

// VolumeFacts are what the volume says about its past.
type VolumeFacts struct {
	Record     *Record // nil: no role recorded (a fresh volume, or one from before replication)
	Configured bool    // the configure hook's stamp is there: the volume holds application data
	Joined     bool    // the join hook's stamp is there: a replica's copy is complete
}

// Verdict is what a start does about the role.
type Verdict struct {
	Write bool   // record the role (a first start, a promotion, or an old volume's first record)
	Note  string // a line for the container's output; "" for none
}

// Judge holds role against the volume (a pure function: the table in docs/replication.md).
// A replica joins only a volume that holds no data of its own; a primary's data, or a
// replica's half-made copy, is never taken for the other role. The error carries
// exitcode.RoleRefused and says how to go on.
func Judge(f VolumeFacts, role Role, volume string) (Verdict, error) {
	was := ""
	switch {
	case f.Record != nil:
		was = f.Record.Role
	case f.Configured:
		// Set up before the image declared replication: it holds a primary's data.
		was = config.RolePrimary
	}
	switch {
	case was == "":
		return Verdict{Write: true}, nil
	case was == role.Name:
		return Verdict{Write: f.Record == nil}, nil
	case was == config.RolePrimary:
		return Verdict{}, exitcode.Withf(exitcode.RoleRefused,
			"replication: the volume %s holds a primary's data, and this instance is a replica (%s): joining would replace that data with a copy of another primary's; start it as the primary, or give the replica a new, empty volume",
			volume, role.From)
	case !f.Joined:
		return Verdict{}, exitcode.Withf(exitcode.RoleRefused,
			"replication: the volume %s is a replica's whose join has not finished, and this instance is the primary (%s): it would serve a partial copy; start it as a replica again so the join completes, or give the primary its own volume",
			volume, role.From)
	default:
		return Verdict{Write: true, Note: fmt.Sprintf("appagent init: promoted: the volume %s was a replica's and this instance is now the primary (%s); the units see %s=primary, and stopping replication is the application's part (docs/replication.md)",
			volume, role.From, EnvRole)}, nil
	}
}

// maxRecord bounds what a volume's role record may cost to read.
const maxRecord = 4096

// ReadFacts reads the role record and the stamps through the volume's no-follow layer.
func ReadFacts(vol *upgrade.Volume) (VolumeFacts, error) {
	var f VolumeFacts
	data, err := vol.ReadFile(layout.RoleFile, maxRecord)
	if err != nil {
		return f, fmt.Errorf("replication: %w", err)
	}
	if data != nil {
		var r Record
		if err := json.Unmarshal(data, &r); err != nil || (r.Role != config.RolePrimary && r.Role != config.RoleReplica) {
			return f, fmt.Errorf("replication: %s is not a role record (%v); if the volume's role is known, write it back as {\"role\":\"primary\"} or {\"role\":\"replica\"}", vol.Path(layout.RoleFile), err)
		}
		f.Record = &r
	}
	if f.Configured, err = vol.Exists(layout.StampsDir + "/" + layout.ConfiguredStamp); err != nil {
		return f, fmt.Errorf("replication: %w", err)
	}
	if f.Joined, err = vol.Exists(layout.StampsDir + "/" + layout.JoinedStamp); err != nil {
		return f, fmt.Errorf("replication: %w", err)
	}
	return f, nil
}

// AtStart is init's step: it judges role against the volume at dir and records it.
func AtStart(dir string, role Role, now time.Time, out io.Writer) error {
	vol, err := upgrade.OpenVolume(dir)
	if err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	defer vol.Close()
	facts, err := ReadFacts(vol)
	if err != nil {
		return err
	}
	v, err := Judge(facts, role, dir)
	if err != nil {
		return err
	}
	if v.Note != "" {
		fmt.Fprintln(out, v.Note)
	}
	if !v.Write {
		return nil
	}
	data, err := json.Marshal(Record{Role: role.Name, Since: now.UTC(), From: role.From})
	if err != nil {
		return err
	}
	if err := vol.MkdirAll(layout.StateDir); err != nil {
		return fmt.Errorf("replication: record the role: %w", err)
	}
	if err := vol.WriteFile(layout.RoleFile, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("replication: record the role: %w", err)
	}
	return nil
}
