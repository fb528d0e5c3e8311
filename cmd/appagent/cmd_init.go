package main

import (
	"context"
	"errors"
	"flag"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/initstage"
	"github.com/appagent/appagent/agent/params"
)

func cmdInit() *command {
	var o initstage.Options
	var helpParams bool
	return &command{
		name:    "init",
		summary: "the container's entrypoint: check, set up the volume, exec systemd",
		help: `The image's ENTRYPOINT:

    ENTRYPOINT ["/usr/local/sbin/init"]

/usr/local/sbin/init is the link 'appagent prepare' makes to appagent, which runs init when
started by that name; podman and CRI-O run a command of that name in systemd mode, so
'podman run -d -v NAME:/data IMAGE' needs no --systemd flag. ENTRYPOINT ["/usr/bin/appagent",
"init"] works too (podman then needs --systemd=always). Docker has no systemd mode: see
docs/runtimes.md for its flags.

Before systemd runs it checks that the runtime can run systemd (and says which flag fixes it
when not), validates the parameters (every problem at once, nothing written), locks the volume,
populates it from the template or upgrades it (a downgrade only with APPAGENT_DOWNGRADE=allow,
a volume with files but no appagent state only with APPAGENT_ADOPT=yes), keeps the container's stdout for the agent's
log forwarding, and then execs systemd so that systemd is PID 1.`,
		exits: []exitcode.Code{exitcode.Usage, exitcode.Config, exitcode.Preflight, exitcode.Params, exitcode.VolumeLocked,
			exitcode.Upgrade, exitcode.VolumeNewer, exitcode.ParamChanged, exitcode.VolumeForeign},
		anyArgs: true, // a base image's CMD (Debian's "bash") is appended to the ENTRYPOINT
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Config, "config", config.DefaultPath, "the image's declaration")
			fs.BoolVar(&o.Plan, "plan", false, "print what populating or upgrading the volume would do, change nothing, exit")
			fs.BoolVar(&o.PlanJSON, "json", false, "with --plan: print the plan as JSON")
			fs.BoolVar(&helpParams, "help-params", false, "list the image's parameters and exit (podman run --rm IMAGE --help-params)")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			o.Out = env.stdout
			if helpParams {
				cfg, err := config.Load(o.Config)
				if err != nil {
					return exitcode.With(exitcode.Config, err)
				}
				return params.Describe(env.stdout, cfg)
			}
			err := initstage.Init(o)
			var reported *initstage.ReportedError
			if errors.As(err, &reported) {
				return exitcode.With(exitcode.Of(err), errReported) // already on stdout as JSON
			}
			return err
		},
	}
}
