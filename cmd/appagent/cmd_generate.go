package main

import (
	"context"
	"flag"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/units"
)

// cmdGenerate is the systemd generator; systemd runs it as appagent-generator NORMAL EARLY LATE.
func cmdGenerate() *command {
	var o units.GeneratorOptions
	return &command{
		name:  "generate",
		usage: "NORMAL_DIR [EARLY_DIR [LATE_DIR]]",
		help: `The systemd generator. systemd runs it at every boot (and daemon-reload) as
/usr/lib/systemd/system-generators/appagent-generator, a symlink to appagent that
'appagent prepare' installs. From /etc/appagent/appagent.yaml it writes:

  NORMAL_DIR/<unit>.d/50-appagent.conf   for each application unit: start after appagent and
                                         the hooks, read the parameters, exit the container
                                         when an essential unit fails
  NORMAL_DIR/appagent-{configure,upgrade,reconfigure}.service   the image's hooks
  EARLY_DIR/<unit> -> /dev/null          masks of units that have no place in a container
  EARLY_DIR/default.target               container.default_target, when set

Without a declaration it writes nothing and succeeds. Run it by hand to see what it would
write: appagent generate --root / /tmp/gen /tmp/gen-early`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Root, "root", "/", "root of the filesystem to read the declaration and build id from")
			fs.StringVar(&o.Config, "config", config.DefaultPath, "the declaration, a path inside --root")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if len(args) < 1 || len(args) > 3 {
				return exitcode.Withf(exitcode.Usage, "expected NORMAL_DIR [EARLY_DIR [LATE_DIR]], got %d arguments", len(args))
			}
			o.Normal = args[0]
			if len(args) > 1 {
				o.Early = args[1]
			}
			o.Log = env.stderr
			return units.RunGenerator(o)
		},
	}
}
