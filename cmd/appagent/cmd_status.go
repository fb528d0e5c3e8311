package main

import (
	"context"
	"flag"
)

func cmdStatus() *command {
	return &command{
		name:    "status",
		summary: "report the container's health for people and probes",
		help:    "NOT IMPLEMENTED YET (issue 6 (operator commands)).",
		flags:   func(fs *flag.FlagSet) { fs.Bool("json", false, "print JSON") },
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			return notYet("appagent status", "issue 6 (operator commands)")
		},
	}
}
