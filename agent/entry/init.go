package entry

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/logfwd"
	"github.com/appagent/appagent/agent/preflight"
)

// Options configure Init.
type Options struct {
	Config string    // declaration path (default config.DefaultPath)
	Out    io.Writer // the container's stdout, for messages people read in `podman logs`
	// Exec replaces the process with systemd; tests swap it.
	Exec func(argv0 string, argv []string, env []string) error
	// Keeper starts the log keeper (default logfwd.StartKeeper; none when Exec is swapped).
	Keeper func(logfwd.KeeperOptions) error
}

// Init runs the entrypoint's steps and execs the configured init (systemd). It returns only
// on failure; the error carries the exit code.
func Init(o Options) error {
	if o.Config == "" {
		o.Config = config.DefaultPath
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	execSwapped := o.Exec != nil
	if o.Exec == nil {
		o.Exec = syscall.Exec
	}
	cfg, err := config.Load(o.Config)
	if err != nil {
		return exitcode.With(exitcode.Config, err)
	}
	// Before anything is written: can this runtime run systemd and keep the data?
	if err := preflight.BeforeInit(cfg, preflight.Host(nil), o.Out); err != nil {
		return err
	}
	init := cfg.Container.Init
	// Last step before the exec: the keeper holds the container's stdout/stderr (and the files
	// in hold, such as the volume lock) for the container's life; systemd closes inherited fds.
	// Tests that swap Exec get no keeper unless they set Keeper.
	var hold []*os.File
	if o.Keeper == nil && !execSwapped {
		o.Keeper = logfwd.StartKeeper
	}
	if o.Keeper != nil {
		if err := o.Keeper(logfwd.KeeperOptions{Stdout: os.Stdout, Stderr: os.Stderr, Hold: hold}); err != nil {
			return exitcode.Withf(exitcode.Failure, "start the log keeper: %w", err)
		}
	}
	argv := append([]string{init}, logfwd.SystemdArgs(init, os.Stdout)...)
	if err := o.Exec(init, argv, os.Environ()); err != nil {
		return exitcode.Withf(exitcode.Failure, "exec %s: %w (set container.init in %s to systemd's path)", init, err, cfg.File)
	}
	return fmt.Errorf("exec %s returned", init)
}
