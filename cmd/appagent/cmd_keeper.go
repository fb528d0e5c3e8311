package main

import (
	"context"

	"github.com/appagent/appagent/agent/logfwd"
)

// cmdKeeper is hidden (no summary): `appagent init` starts it just before it execs systemd.
func cmdKeeper() *command {
	return &command{
		name: "keeper",
		help: `Internal: started by 'appagent init' just before it execs systemd. It keeps the container's
original stdout and stderr (and the volume lock) open for the container's life and hands the
stdout to the agent's log forwarder over an abstract unix socket, to root in this container
only. It reads no logs. See docs/logs.md.`,
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			return logfwd.RunKeeper(ctx)
		},
	}
}
