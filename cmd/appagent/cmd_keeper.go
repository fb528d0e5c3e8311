package main

import (
	"context"
	"flag"

	"github.com/appagent/appagent/agent/logfwd"
)

// cmdKeeper is hidden (no summary): `appagent init` starts it just before it execs systemd.
func cmdKeeper() *command {
	var kc logfwd.KeeperConfig
	return &command{
		name: "keeper",
		help: `Internal: started by 'appagent init' just before it execs systemd. It keeps the container's
original stdout and stderr (and the volume lock) open for the container's life and hands the
stdout to the agent's log forwarder over an abstract unix socket, to root in this container
only. It reads no logs but systemd's console, when init made one (no -t): those lines go to
the container's stdout. See docs/logs.md.`,
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&kc.ConsoleFD, "console-fd", 0, "the console pty's master to copy to stdout (0: none)")
			fs.StringVar(&kc.ConsoleFormat, "console-format", "short", "log format of the console's lines: short or json")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			return logfwd.RunKeeper(ctx, kc)
		},
	}
}
