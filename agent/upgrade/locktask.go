package upgrade

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
)

// LockTask is the agent's hold on the volume (a service.Task): AgentLockFile, shared, for as
// long as appagent.service runs. With the keeper's exclusive Lock, the volume stays this
// container's when either process is killed; systemd restarts the agent, which takes it again.
type LockTask struct {
	// Config is the declaration, loaded once by the agent; nil: load ConfigPath.
	Config     *config.Config
	ConfigPath string // "" is config.DefaultPath
}

func (t *LockTask) Name() string { return "volume-lock" }

func (t *LockTask) Start(ctx context.Context, log hclog.Logger) (<-chan error, error) {
	cfg, err := config.Loaded(t.Config, t.ConfigPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Volume.Path); os.IsNotExist(err) {
		// systemd booted without appagent init (no volume made): nothing to keep.
		log.Warn("no volume to hold", "path", cfg.Volume.Path)
		done := make(chan error, 1)
		go func() { <-ctx.Done(); done <- nil }()
		return done, nil
	}
	f, err := AgentLock(cfg.Volume.Path, 10*time.Second)
	if err != nil {
		return nil, err
	}
	log.Debug("holding the volume's agent lock", "path", f.Name())
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		f.Close()
		done <- nil
	}()
	return done, nil
}
