package main

import (
	"context"
	"flag"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/checks"
	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/logfwd"
	"github.com/appagent/appagent/agent/params"
	"github.com/appagent/appagent/agent/replication"
	"github.com/appagent/appagent/agent/service"
	"github.com/appagent/appagent/agent/status"
	"github.com/appagent/appagent/agent/units"
	"github.com/appagent/appagent/agent/upgrade"
)

func cmdRun() *command {
	var level string
	return &command{
		name:    "run",
		summary: "the agent itself (started by appagent.service, not by hand)",
		help: `Runs the container's agent. systemd starts it as appagent.service (Type=notify): it tells
systemd when it is ready, writes the parameters for the application's units, forwards the
journal to the container's stdout, watches the units and publishes state for 'appagent status'.
It stops cleanly on SIGTERM.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&level, "log-level", envOr("APPAGENT_LOG_LEVEL", "info"), "trace, debug, info, warn or error (env APPAGENT_LOG_LEVEL)")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			lvl := hclog.LevelFromString(level)
			fromEnv := level == os.Getenv("APPAGENT_LOG_LEVEL")
			if lvl == hclog.NoLevel && !fromEnv {
				return exitcode.Withf(exitcode.Usage, "--log-level %q: expected trace, debug, info, warn or error", level)
			}
			log := hclog.New(&hclog.LoggerOptions{
				Name:   "appagent",
				Level:  lvl, // NoLevel: hclog's default, info
				Output: env.stderr,
				// journald stamps every line; a second time stamp only adds noise.
				DisableTime: os.Getenv("JOURNAL_STREAM") != "",
			})
			if lvl == hclog.NoLevel {
				// A typo in the container's environment must not stop the agent (systemd
				// would restart it forever); say it and log at info.
				log.Warn("unknown log level in APPAGENT_LOG_LEVEL; logging at info (use trace, debug, info, warn or error)",
					"param", "APPAGENT_LOG_LEVEL", "value", level)
			}
			// The declaration, once for every task. Unreadable, each task does as it would
			// alone: the log forwarder goes on with defaults, the others fail the start.
			cfg, err := config.Load(config.DefaultPath)
			if err != nil {
				log.Error("the declaration cannot be read", "path", config.DefaultPath, "error", err)
				cfg = nil
			}
			return service.Run(ctx, service.Options{Log: log, Tasks: agentTasks(cfg)})
		},
	}
}

// agentTasks lists the agent's tasks; each issue's package adds its own.
func agentTasks(cfg *config.Config) []service.Task {
	// logfwd first, so that a failure of a later task still reaches the container's stdout
	// (the forwarder drains at stop). Units ordered After=appagent.service wait for READY=1,
	// which is sent once every task started, so params' files are there before them.
	// The volume lock next: the volume stays this container's while the agent runs, even if
	// the keeper (which holds init's lock) is killed.
	// The checks last: they only read the application.
	sd := &agentSystemd{}
	return []service.Task{&logfwd.Task{Config: cfg, Explain: explainExit}, &upgrade.LockTask{Config: cfg},
		&params.Task{Config: cfg, AfterWrite: replication.ForUnits}, &checks.Task{Config: cfg, Stopping: sd.stopping, Gate: sd.gate, Self: "/proc/self/exe"}}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// explainExit is the log forwarder's explanation of a unit's exit status (units.ExplainExit),
// with the unit's settings read over D-Bus.
func explainExit(unit string, code int) string {
	return units.ExplainExit(unit, code, func(unit string, names []string) (map[string]string, error) {
		sd, err := status.Dial()
		if err != nil {
			return nil, err
		}
		defer sd.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return sd.Properties(ctx, unit, names)
	})
}

// agentSystemd is the agent's one D-Bus connection to systemd for its checks, dialed on first
// use and kept (the checks ask before every run); redialed after an error.
type agentSystemd struct {
	mu sync.Mutex
	sd status.Systemd
}

func (a *agentSystemd) do(f func(ctx context.Context, sd status.Systemd) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sd == nil {
		sd, err := status.Dial()
		if err != nil {
			return err
		}
		a.sd = sd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := f(ctx, a.sd)
	if err != nil {
		a.sd.Close()
		a.sd = nil
	}
	return err
}

// stopping tells whether systemd is shutting the container down (false when it cannot tell).
func (a *agentSystemd) stopping() bool {
	var st string
	err := a.do(func(ctx context.Context, sd status.Systemd) (err error) {
		st, err = sd.SystemState(ctx)
		return err
	})
	return err == nil && st == "stopping"
}

// gate is the checks' Gate: whether systemd still starts the container, and when the
// check's unit last became active.
func (a *agentSystemd) gate(_ context.Context, unit string) (checks.Gate, error) {
	var g checks.Gate
	err := a.do(func(ctx context.Context, sd status.Systemd) error {
		st, err := sd.SystemState(ctx)
		if err != nil {
			return err
		}
		g.Booting = st == "initializing" || st == "starting"
		if unit == "" {
			return nil
		}
		p, err := sd.Unit(ctx, unit)
		if err != nil {
			return err
		}
		if p.ActiveEnter != 0 {
			g.UnitActive = time.UnixMicro(int64(p.ActiveEnter))
		}
		return nil
	})
	return g, err
}
