package params

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/internal/atomicfile"
)

// RuntimeDir is where the agent writes the parameters for the application's units.
const RuntimeDir = layout.RuntimeDir

// Paths under RuntimeDir; the generator's drop-ins (agent/units) name the same files.
const (
	EnvFileName     = layout.ParamsEnvFile  // non-secret NAME="value" lines, for EnvironmentFile=
	ParamsDirName   = layout.ParamsDir      // one file per non-secret parameter, 0644
	CredsDirName    = layout.CredentialsDir // one file per secret parameter, 0600 in a 0700 dir, for LoadCredential=
	StatusFileName  = layout.ParamsStatus   // names, sources and flags; never a value of a secret
	ChangedFileName = layout.ParamsChanged  // names of parameters changed since the last start, one a line
)

// CredentialPath is the file a unit loads a secret from: LoadCredential=NAME:<this>.
func CredentialPath(runtimeDir, name string) string {
	return filepath.Join(runtimeDir, CredsDirName, name)
}

// EnvFilePath is the EnvironmentFile= of the application's units.
func EnvFilePath(runtimeDir string) string { return filepath.Join(runtimeDir, EnvFileName) }

// Status is one parameter as `appagent status` shows it.
type Status struct {
	Name   string `json:"name"`
	Source Source `json:"source"`
	Set    bool   `json:"set"`
	Secret bool   `json:"secret"`
	// Value is the value of a non-secret parameter; always empty for a secret.
	Value string `json:"value,omitempty"`
}

// Statuses lists set's parameters for status output, without secret values.
func Statuses(set *Set) []Status {
	out := make([]Status, 0, len(set.Values))
	for _, v := range set.Values {
		s := Status{Name: v.Name, Source: v.Source, Set: v.IsSet(), Secret: v.Secret}
		if !v.Secret {
			s.Value = v.Value
		}
		out = append(out, s)
	}
	return out
}

// WriteRuntime writes the files the application's units read:
//
//	<dir>/params.env            EnvironmentFile= of the non-secret parameters that are set
//	<dir>/params/NAME           one file per non-secret parameter that is set (0644)
//	<dir>/credentials/NAME      one file per secret parameter (0600, dir 0700), for LoadCredential=;
//	                            an unset optional secret is an empty file, because systemd
//	                            refuses to start a unit whose LoadCredential= source is missing
//	<dir>/params-status.json    name, source, set and secret flags for `appagent status`
//
// Every file is replaced atomically; files of parameters no longer set are removed, so the
// agent can rewrite the tree at every start of appagent.service.
func WriteRuntime(dir string, set *Set) error {
	pdir := filepath.Join(dir, ParamsDirName)
	cdir := filepath.Join(dir, CredsDirName)
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o755}, {pdir, 0o755}, {cdir, 0o700}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return fmt.Errorf("parameters for units: %w", err)
		}
		// MkdirAll keeps an existing directory's mode; the credentials directory must be 0700
		// whatever made it first.
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("parameters for units: %w", err)
		}
	}
	var env strings.Builder
	env.WriteString("# Written by appagent.service from the container's parameters; do not edit.\n")
	env.WriteString("# Secret parameters are not here: units read them with LoadCredential= (see docs/parameters.md).\n")
	keepP, keepC := map[string]bool{}, map[string]bool{}
	for _, v := range set.Values {
		switch {
		case v.Secret:
			keepC[v.Name] = true
			if err := atomicfile.Write(filepath.Join(cdir, v.Name), []byte(v.Value), 0o600); err != nil {
				return fmt.Errorf("parameters for units: secret %s: %w", v.Name, err)
			}
		case v.IsSet():
			keepP[v.Name] = true
			if err := atomicfile.Write(filepath.Join(pdir, v.Name), []byte(v.Value), 0o644); err != nil {
				return fmt.Errorf("parameters for units: %w", err)
			}
			env.WriteString(EnvLine(v.Name, v.Value))
		}
	}
	if err := removeOthers(pdir, keepP); err != nil {
		return err
	}
	if err := removeOthers(cdir, keepC); err != nil {
		return err
	}
	if err := atomicfile.Write(EnvFilePath(dir), []byte(env.String()), 0o644); err != nil {
		return fmt.Errorf("parameters for units: %w", err)
	}
	st, err := json.MarshalIndent(Statuses(set), "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, StatusFileName), append(st, '\n'), 0o644); err != nil {
		return fmt.Errorf("parameters for units: %w", err)
	}
	return nil
}

func removeOthers(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("parameters for units: %w", err)
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("parameters for units: %w", err)
			}
		}
	}
	return nil
}
