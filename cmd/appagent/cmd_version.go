package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/version"
)

func cmdVersion() *command {
	var asJSON bool
	return &command{
		name:    "version",
		summary: "print appagent's version and build features",
		help:    "Prints the version, the commit it was built from, the Go version, and whether the\nbinary can read the journal natively (cgo + libsystemd) or falls back to journalctl.",
		exits:   []exitcode.Code{exitcode.OK, exitcode.Usage},
		flags:   func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") },
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			info := version.Get()
			if asJSON {
				return json.NewEncoder(env.stdout).Encode(info)
			}
			fmt.Fprintf(env.stdout, "appagent %s (commit %s, %s, journal: %s)\n", info.Version, info.Commit, info.Go, info.Journal)
			return nil
		},
	}
}
