package initstage

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/logfwd"
	"github.com/appagent/appagent/agent/params"
	"github.com/appagent/appagent/agent/preflight"
	"github.com/appagent/appagent/agent/replication"
	"github.com/appagent/appagent/agent/upgrade"
)

// ReportedError is an error that Init has already written to the container's stdout (as a
// JSON entry, in JSON log mode); the caller only exits with its code.
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }

// Options configure Init.
type Options struct {
	Config string    // declaration path (default config.DefaultPath)
	Out    io.Writer // the container's stdout, for messages people read in `podman logs`
	// Exec replaces the process with systemd; tests swap it.
	Exec func(argv0 string, argv []string, env []string) error
	// Keeper starts the log keeper (default logfwd.StartKeeper; none when Exec is swapped).
	Keeper func(logfwd.KeeperOptions) error
	// Plan prints what populating/upgrading the volume would do, changes nothing, and returns.
	Plan bool
	// PlanJSON prints the plan as JSON.
	PlanJSON bool
	// Console is where systemd's console is made when there is none (default
	// logfwd.ConsolePath; tests point it elsewhere).
	Console string
}

// Init runs the entrypoint's steps and execs the configured init (systemd). It returns only
// on failure; the error carries the exit code.
func Init(o Options) (err error) {
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
	// In JSON log mode, what init prints before the agent forwards the journal is JSON too,
	// the final error included, so `podman logs` parses line by line from its first line.
	// The environment decides before the config can be read (a broken config is an error too).
	var lw *logfwd.LineWriter
	useJSON := func() {
		if lw == nil && !o.Plan {
			lw = logfwd.NewLineWriter(o.Out, logfwd.JSON{}, "appagent-init")
			o.Out = lw
		}
	}
	if f, _ := config.ParseLogFormat(os.Getenv(logfwd.EnvFormat)); f == "json" {
		useJSON()
	}
	defer func() {
		if err != nil && lw != nil {
			lw.Flush()
			lw.Entry(3, []byte("appagent init: "+err.Error()))
			err = &ReportedError{Err: err}
		}
	}()
	cfg, err := config.Load(o.Config)
	if err != nil {
		return exitcode.With(exitcode.Config, err)
	}
	if f, _ := config.ParseLogFormat(cfg.Logs.Format); os.Getenv(logfwd.EnvFormat) == "" && f == "json" {
		useJSON()
	}
	allowDowngrade, err := upgrade.AllowDowngradeEnv(os.Getenv(upgrade.DowngradeEnv))
	if err != nil {
		return err
	}
	allowAdopt, err := upgrade.AllowAdoptEnv(os.Getenv(upgrade.AdoptEnv))
	if err != nil {
		return err
	}
	if o.Plan {
		// `appagent init --plan`: read-only, no lock (the running container may hold it),
		// no preflight (it also runs as `podman run --rm IMAGE --plan`, or by exec).
		p, err := upgrade.PlanVolume(upgrade.Options{Config: cfg, Out: o.Out})
		if err != nil {
			return err
		}
		if o.PlanJSON {
			return p.WriteJSON(o.Out)
		}
		p.WriteText(o.Out)
		return nil
	}
	// Before anything is written: can this runtime run systemd and keep the data?
	if err := preflight.BeforeInit(cfg, preflight.Host(nil), o.Out); err != nil {
		return err
	}
	// A restart in a Kubernetes pod keeps /run (an emptyDir): empty it as a boot would find it.
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		if err := CleanStaleRun("/", string(mi), o.Out); err != nil {
			return exitcode.With(exitcode.Failure, err)
		}
	}
	// Parameters: every problem at once, before the volume is touched (agent/params).
	set, err := params.ResolveAtStart(cfg, os.Environ(), params.DefaultSecretsDir)
	if err != nil {
		return err
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(o.Out, "appagent init: %s\n", w)
	}
	// The role (replication:) is a parameter problem too: found before the volume is touched.
	var role *replication.Role
	if cfg.Replication != nil {
		host, _ := os.Hostname()
		r, err := replication.Decide(cfg.Replication, replication.Values(set), host)
		if err != nil {
			return err
		}
		role = &r
	}
	// The resolved set holds the secrets from here on: drop the ones given by env from this
	// process's environment at once, so no child (migration steps, the keeper) and not systemd
	// (/proc/1/environ) inherits them.
	params.UnsetSecretEnv(cfg)
	// Lock the volume, then populate or upgrade it. The lock's file goes to the keeper (hold),
	// which keeps it open, and so the volume locked, for the container's life.
	volumeLock, err := upgrade.Lock(cfg.Volume.Path)
	if err != nil {
		return err
	}
	sync := upgrade.Options{Config: cfg, Out: o.Out, AllowDowngrade: allowDowngrade, Adopt: allowAdopt,
		OnAdopt: func() error { return params.Adopt(cfg, set, o.Out) }}
	if _, err := upgrade.Sync(sync); err != nil {
		return err
	}
	// A replica never joins over a primary's data: judged on the populated volume, before
	// the given values are kept.
	if role != nil {
		if err := replication.AtStart(cfg.Volume.Path, *role, time.Now(), o.Out); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "appagent init: role %s (%s)\n", role.Name, role.From)
	}
	// After the volume is locked and populated: keep the given values for later starts.
	if err := params.Commit(cfg.Volume.Path, set); err != nil {
		return exitcode.With(exitcode.Failure, err)
	}
	// identity: (optional) make the FQDN parameter the container's name where the runtime lets us.
	params.ApplyIdentity(cfg, set, params.IdentityOptions{Out: o.Out})
	init := cfg.Container.Init
	// Last step before the exec: the keeper holds the container's stdout/stderr (and the files
	// in hold, such as the volume lock) for the container's life; systemd closes inherited fds.
	// Tests that swap Exec get no keeper unless they set Keeper.
	hold := []*os.File{volumeLock}
	if o.Keeper == nil && !execSwapped {
		o.Keeper = logfwd.StartKeeper
	}
	var console *logfwd.Console
	if o.Keeper != nil {
		// Without -t there is no /dev/console, and what systemd says before journald runs
		// (why it dies, above all) would reach no one: give it a console the keeper copies.
		if o.Console == "" {
			o.Console = logfwd.ConsolePath
		}
		c, err := logfwd.MakeConsole(o.Console)
		if err != nil {
			fmt.Fprintf(o.Out, "appagent init: systemd's own messages before the journal runs will not reach this output: %v\n", err)
		}
		console = c
		format := "short"
		if lw != nil {
			format = "json"
		}
		if err := o.Keeper(logfwd.KeeperOptions{Stdout: os.Stdout, Stderr: os.Stderr, Hold: hold, Console: console, ConsoleFormat: format}); err != nil {
			console.Close()
			return exitcode.Withf(exitcode.Failure, "start the log keeper: %w", err)
		}
	}
	if lw != nil {
		lw.Flush()
	}
	argv := append([]string{init}, logfwd.SystemdArgs(init, os.Stdout, console)...)
	if err := o.Exec(init, argv, os.Environ()); err != nil {
		return exitcode.Withf(exitcode.Failure, "exec %s: %w (set container.init in %s to systemd's path)", init, err, cfg.File)
	}
	return fmt.Errorf("exec %s returned", init)
}
