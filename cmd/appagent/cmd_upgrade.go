package main

import (
	"context"
	"flag"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/upgrade"
)

func cmdUpgrade() *command {
	var (
		cfgPath string
		plan    bool
		asJSON  bool
	)
	return &command{
		name:    "upgrade",
		summary: "show what this image would do to a volume (--plan); the upgrade itself runs in init",
		help: `Prints what starting this image on the volume would do: nothing (up to date), populate
(empty volume), or upgrade: every path it would install, replace, keep with a NAME.appagent-new
beside it, remove, or move aside, and the format migrations it would run. It changes nothing and
takes no lock. The upgrade itself is done by 'appagent init' at container start.

    podman run --rm -v VOLUME:/data NEW-IMAGE --plan            (the entrypoint is appagent init)
    podman run --rm -v VOLUME:/data --entrypoint /usr/bin/appagent NEW-IMAGE upgrade --plan

See docs/volume.md for the rules.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage, exitcode.Config, exitcode.Upgrade, exitcode.VolumeNewer},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cfgPath, "config", config.DefaultPath, "the image's declaration")
			fs.BoolVar(&plan, "plan", false, "print the plan and change nothing (required)")
			fs.BoolVar(&asJSON, "json", false, "print the plan as JSON")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if !plan {
				return exitcode.Withf(exitcode.Usage, "only --plan is supported: the volume is upgraded by 'appagent init' when the container starts")
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return exitcode.With(exitcode.Config, err)
			}
			p, err := upgrade.PlanVolume(upgrade.Options{Config: cfg, Out: env.stderr})
			if err != nil {
				return err
			}
			if asJSON {
				return p.WriteJSON(env.stdout)
			}
			p.WriteText(env.stdout)
			return nil
		},
	}
}
