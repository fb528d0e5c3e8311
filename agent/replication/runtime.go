package replication

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/params"
	"github.com/appagent/appagent/internal/atomicfile"
)

// The variables the units and hooks read from layout.RoleEnvFile.
const (
	EnvRole    = "APPAGENT_ROLE"    // primary or replica
	EnvPrimary = "APPAGENT_PRIMARY" // the primary's address ("" on a primary without one)
	EnvOrdinal = "APPAGENT_ORDINAL" // the StatefulSet ordinal, "" when the parameter gave the role
)

// RuntimeFiles are where WriteRuntime writes; tests point them elsewhere.
type RuntimeFiles struct {
	Env     string // default layout.RoleEnvFile
	Replica string // default layout.ReplicaFlag
}

// WriteRuntime writes the role for the units: the environment file the generator's drop-ins
// name, and the flag whose presence lets the join hook's unit run.
func WriteRuntime(f RuntimeFiles, r Role) error {
	if f.Env == "" {
		f.Env = layout.RoleEnvFile
	}
	if f.Replica == "" {
		f.Replica = layout.ReplicaFlag
	}
	ord := ""
	if r.Ordinal >= 0 {
		ord = strconv.Itoa(r.Ordinal)
	}
	var b strings.Builder
	b.WriteString("# Written by appagent.service: this instance's role (docs/replication.md); do not edit.\n")
	for _, kv := range [][2]string{{EnvRole, r.Name}, {EnvPrimary, r.Primary}, {EnvOrdinal, ord}} {
		b.WriteString(params.EnvLine(kv[0], kv[1]))
	}
	if err := os.MkdirAll(filepath.Dir(f.Env), 0o755); err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	if err := atomicfile.Write(f.Env, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	if r.IsReplica() {
		if err := atomicfile.Write(f.Replica, []byte(r.From+"\n"), 0o644); err != nil {
			return fmt.Errorf("replication: %w", err)
		}
	} else if err := os.Remove(f.Replica); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("replication: %w", err)
	}
	return nil
}

// ForUnits is the agent's step (params.Task's AfterWrite): at every start of appagent.service
// it decides the role again, from the parameters as resolved now, and writes it for the units.
func ForUnits(cfg *config.Config, set *params.Set) error {
	if cfg.Replication == nil {
		return nil
	}
	host, _ := os.Hostname()
	role, err := Decide(cfg.Replication, Values(set), host)
	if err != nil {
		return err
	}
	return WriteRuntime(RuntimeFiles{}, role)
}
