package main

import (
	"context"
	"flag"
)

func cmdDiff() *command {
	return &command{
		name:    "diff",
		summary: "list what was written outside the volume and will be lost",
		help:    "NOT IMPLEMENTED YET (issue 6 (operator commands)).",
		flags:   func(fs *flag.FlagSet) { fs.Bool("json", false, "print JSON") },
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			return notYet("appagent diff", "issue 6 (operator commands)")
		},
	}
}
