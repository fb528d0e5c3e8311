package main

import (
	"context"
	"flag"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/prepare"
)

func cmdPrepare() *command {
	var o prepare.Options
	return &command{
		name:    "prepare",
		summary: "build time: turn the image into an appagent image (RUN appagent prepare)",
		help: `Run once in the image's Containerfile, after the application's packages are installed:

    COPY appagent.yaml /etc/appagent/
    RUN appagent prepare

It validates /etc/appagent/appagent.yaml (every problem at once, with file and line), installs
and enables appagent.service, moves every volume path into the template tree and leaves a
symlink to the volume in its place, records the template's manifest and a build id, installs
the systemd generator and masks units that have no place in a container.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage, exitcode.Config},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Root, "root", "/", "root of the image's filesystem (for building outside a container)")
			fs.StringVar(&o.Config, "config", config.DefaultPath, "the declaration, a path inside --root")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			o.Out = env.stdout
			return prepare.Prepare(o)
		},
	}
}
