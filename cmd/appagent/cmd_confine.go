package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/appagent/appagent/agent/confine"
	"github.com/appagent/appagent/agent/exitcode"
)

// cmdConfine is how the volume code runs a format migration, and the hook units their hooks
// (hidden: no summary).
func cmdConfine() *command {
	var write stringList
	return &command{
		name:  confine.Command,
		usage: "--write DIR... -- PROGRAM [ARG]...",
		help: `Run by appagent for each format migration and by the hook units for each hook: restricts
itself with Landlock so that it and PROGRAM may write only beneath each --write DIR (the
volume, and a hook's declared writes) and the container's scratch directories (/tmp,
/var/tmp, /run, /dev), then execs PROGRAM. A link planted on the volume then cannot lead
PROGRAM's writes into the image. Where Landlock is not available, PROGRAM runs unconfined
and this command says so on stderr (the hook's journal).`,
		exits: []exitcode.Code{exitcode.Failure, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.Var(&write, "write", "a directory PROGRAM may write beneath (repeatable)")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if len(write) == 0 || len(args) == 0 {
				return exitcode.Withf(exitcode.Usage, "want --write DIR and a program after --")
			}
			if confine.ABI() == 0 {
				fmt.Fprintf(env.stderr, "appagent: %s runs unconfined: Landlock is not available here (kernel without it, or the runtime's seccomp profile refuses it), so a link planted on the volume could lead its writes outside %s (docs/volume.md, \"What hooks may write\")\n", args[0], strings.Join(write, ", "))
			}
			return confine.Exec(write, args, os.Environ())
		},
	}
}
