package main

import (
	"context"
	"flag"
	"os"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/failure"
)

// cmdReportFailure is run by systemd as ExecStopPost= of hook and essential units (hidden:
// no summary, so it is not in the command list).
func cmdReportFailure() *command {
	var (
		code    int
		exit    bool
		cfgPath string
	)
	return &command{
		name:  "report-failure",
		usage: "UNIT",
		help: `Run by systemd as ExecStopPost=+ of the hook units and of essential units (the generator
adds it). When the unit failed ($SERVICE_RESULT is not success) it writes one line saying
which unit failed, how, and the exit code the container will have, followed by the unit's
last log lines, to the journal (priority err, identifier appagent); the log forwarder puts
it on the container's stdout. When the unit succeeded it does nothing.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&code, "exit-code", -1, "the container's exit code when this unit fails (default: the unit's exit_code in the declaration, else 17)")
			fs.BoolVar(&exit, "exit", false, "after the report, exit the container with the code (OnFailure= of essential units that are not services)")
			fs.StringVar(&cfgPath, "config", config.DefaultPath, "the image's declaration")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if len(args) != 1 {
				return exitcode.Withf(exitcode.Usage, "expected one unit name")
			}
			if code < 0 {
				code = int(exitcode.Essential)
				if cfg, err := config.Load(cfgPath); err == nil {
					code = failure.EssentialExitCode(cfg, args[0])
				}
			}
			return failure.Run(ctx, failure.Options{Unit: args[0], ExitCode: code, Exit: exit, Env: os.Getenv, Stderr: env.stderr})
		},
	}
}
