package params

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/environ"
)

// Task is the agent's parameters task (a service.Task): at every start of appagent.service it
// resolves the parameters again and writes the runtime files, before the agent tells systemd
// it is ready, so units ordered After=appagent.service find them.
//
// It resolves again rather than trusting a file left by `appagent init` because /run is
// empty after the exec of systemd on some runtimes, and because appagent.service does not
// inherit the container's environment: PID 1 (systemd) has it, in /proc/1/environ.
//
// Then it follows the secrets directory (follow.go): Kubernetes rewrites mounted Secret and
// ConfigMap files in place, and a changed value is taken while the container runs.
type Task struct {
	Config      *config.Config // the declaration, loaded once by the agent; nil: load ConfigPath
	ConfigPath  string         // default config.DefaultPath
	RuntimeDir  string         // default RuntimeDir
	SecretsDir  string         // default DefaultSecretsDir
	EnvironFile string         // default environ.PID1
	StartUnit   StartUnit      // default: systemd over its private socket
	// AfterWrite, when set, writes what other packages derive from the parameters (the
	// replication role) before the agent is ready; its error stops the start.
	AfterWrite func(cfg *config.Config, set *Set) error
}

func (t *Task) Name() string { return "params" }

// Start writes the files and returns; the task then follows the parameter files.
func (t *Task) Start(ctx context.Context, log hclog.Logger) (<-chan error, error) {
	cfgPath := orDefault(t.ConfigPath, config.DefaultPath)
	cfg, err := config.Loaded(t.Config, cfgPath)
	if err != nil {
		return nil, err
	}
	env, err := environ.Read(orDefault(t.EnvironFile, environ.PID1))
	if err != nil {
		return nil, err
	}
	stored, err := LoadStored(cfg.Volume.Path)
	if err != nil {
		return nil, err
	}
	secrets := orDefault(t.SecretsDir, DefaultSecretsDir)
	set, err := Resolve(cfg, Inputs{Env: env, SecretsDir: secrets, Stored: stored})
	if err != nil {
		return nil, err
	}
	dir := orDefault(t.RuntimeDir, RuntimeDir)
	if err := WriteRuntime(dir, set); err != nil {
		return nil, err
	}
	if t.AfterWrite != nil {
		if err := t.AfterWrite(cfg, set); err != nil {
			return nil, err
		}
	}
	// systemd sets the hostname from /etc/hostname when it starts, after `appagent init` set
	// it from the identity parameter (seen with nspawn); set it again, before READY=1.
	ApplyIdentity(cfg, set, IdentityOptions{Out: log.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Info})})
	for _, v := range set.Values {
		log.Debug("parameter", "param", v.Name, "source", string(v.Source), "secret", v.Secret)
	}
	log.Info("parameters written for units", "path", dir, "count", len(set.Values))
	start := t.StartUnit
	if start == nil {
		start = startWithSystemd
	}
	f := &follower{cfg: cfg, env: env, secretsDir: secrets, runtimeDir: dir, start: start, log: log, current: set}
	w := f.watch()
	if w != nil {
		// What changed between the resolve above and the watch is taken now.
		f.apply(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- f.follow(ctx, w) }()
	return done, nil
}
