package main

import (
	"context"
	"flag"
)

func cmdDoctor() *command {
	return &command{
		name:    "doctor",
		summary: "check the runtime and the running system, with a fix for each problem",
		help:    "NOT IMPLEMENTED YET (issue 6 (operator commands)).",
		flags:   func(fs *flag.FlagSet) { fs.Bool("json", false, "print JSON") },
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			return notYet("appagent doctor", "issue 6 (operator commands)")
		},
	}
}
