package params

import (
	"fmt"
	"os"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// CheckDeclarations checks what agent/config cannot: that each declared default, and each
// one_of entry, passes the parameter's own check. `appagent prepare` merges the result into
// its report, so an image with an impossible default fails at build time, not at first start.
func CheckDeclarations(cfg *config.Config) config.Report {
	var rep config.Report
	for i, p := range cfg.Parameters {
		key := fmt.Sprintf("parameters[%d] (%s)", i, p.Name)
		if p.Default != nil {
			if _, err := Check(p, *p.Default); err != nil {
				rep.Add(config.Problem{File: cfg.File, Line: p.Line, Key: key + ".default", Severity: config.Error,
					Message: fmt.Sprintf("the default fails the parameter's own check: %v", err)})
			}
		}
		if len(p.OneOf) > 0 {
			q := p
			q.OneOf = nil // check each entry against type and pattern only
			for j, o := range p.OneOf {
				if _, err := Check(q, o); err != nil {
					rep.Add(config.Problem{File: cfg.File, Line: p.Line, Key: fmt.Sprintf("%s.one_of[%d]", key, j), Severity: config.Error,
						Message: fmt.Sprintf("can never be given: %v", err)})
				}
			}
		}
		if p.Secret && p.Default != nil && *p.Default != "" {
			rep.Add(config.Problem{File: cfg.File, Line: p.Line, Key: key + ".default", Severity: config.Warning,
				Message: "a secret with a default is readable by anyone who has the image; give it no default and make it required"})
		}
	}
	return rep
}

// ResolveAtStart is `appagent init`'s parameter step: it reads the values stored on the
// volume (writing nothing) and resolves every parameter from env, NAME_FILE, secretsDir and
// the stored values. Errors carry exitcode.Params or exitcode.ParamChanged.
func ResolveAtStart(cfg *config.Config, env []string, secretsDir string) (*Set, error) {
	stored, err := LoadStored(cfg.Volume.Path)
	if err != nil {
		return nil, exitcode.With(exitcode.Params, fmt.Errorf("parameters: %w", err))
	}
	return Resolve(cfg, Inputs{Env: env, SecretsDir: secretsDir, Stored: stored})
}

// Commit is `appagent init`'s step after the volume is locked and populated: it stores the
// given values and, when parameters declared on_change: reconfigure changed, leaves the
// pending mark the reconfigure hook unit waits for.
func Commit(volume string, set *Set) error {
	if err := Store(volume, set); err != nil {
		return err
	}
	return MarkReconfigure(volume, set.Changed)
}

// UnsetSecretEnv removes the secret parameters' environment variables from this process once
// their values are stored on the volume, so that the processes `appagent init` starts (the
// log keeper) and execs (systemd, whose /proc/1/environ every root process can read) never
// carry them. The agent finds the values on the volume instead.
func UnsetSecretEnv(cfg *config.Config) {
	for _, p := range cfg.Parameters {
		if p.Secret {
			_ = os.Unsetenv(p.Name)
		}
	}
}
