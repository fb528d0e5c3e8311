package main

import (
	"context"
)

// cmdGenerate is the systemd generator; systemd runs it as appagent-generator NORMAL EARLY LATE.
func cmdGenerate() *command {
	return &command{
		name:  "generate",
		usage: "NORMAL_DIR [EARLY_DIR LATE_DIR]",
		help:  "systemd generator (run by systemd at boot as appagent-generator). NOT IMPLEMENTED YET (issue 4).",
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			return notYet("the appagent generator", "issue 4 (parameters, hooks, start order)")
		},
	}
}
