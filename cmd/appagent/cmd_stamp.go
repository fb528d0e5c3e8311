package main

import (
	"context"
	"flag"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/units"
)

type stringList []string

func (l *stringList) String() string     { return "" }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// cmdStamp is run by the generated hook units in ExecStartPost= (hidden: no summary).
func cmdStamp() *command {
	var dir string
	var remove stringList
	return &command{
		name:  "stamp",
		usage: "--dir DIR [--remove NAME]... NAME...",
		help: `Run by the generated hook units after their hook succeeded: writes each NAME as a stamp
file in DIR (the volume's .appagent/stamps) and removes each --remove NAME, atomically and
synced, so a hook runs again only when its stamp is missing.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", "", "the stamps directory")
			fs.Var(&remove, "remove", "a stamp to remove (repeatable)")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if dir == "" {
				return exitcode.Withf(exitcode.Usage, "--dir is required")
			}
			return units.Stamp(dir, args, remove)
		},
	}
}
