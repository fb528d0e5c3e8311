package main

import (
	"context"
	"flag"
	"os"

	"github.com/appagent/appagent/agent/confine"
	"github.com/appagent/appagent/agent/exitcode"
)

// cmdConfine is how the volume code runs a format migration (hidden: no summary).
func cmdConfine() *command {
	var write stringList
	return &command{
		name:  confine.Command,
		usage: "--write DIR... -- PROGRAM [ARG]...",
		help: `Run by appagent for each format migration: restricts itself with Landlock so that it and
PROGRAM may write only beneath each --write DIR (the volume) and the container's scratch
directories (/tmp, /var/tmp, /run, /dev), then execs PROGRAM. A link planted on the volume
then cannot lead PROGRAM's writes into the image. Where Landlock is not available, appagent
does not call this command and says the migration runs unconfined.`,
		exits: []exitcode.Code{exitcode.Failure, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.Var(&write, "write", "a directory PROGRAM may write beneath (repeatable)")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if len(write) == 0 || len(args) == 0 {
				return exitcode.Withf(exitcode.Usage, "want --write DIR and a program after --")
			}
			return confine.Exec(write, args, os.Environ())
		},
	}
}
