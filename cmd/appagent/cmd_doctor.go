package main

import (
	"context"
	"encoding/json"
	"flag"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/doctor"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/preflight"
	"github.com/appagent/appagent/agent/status"
	"github.com/appagent/appagent/agent/units"
	"github.com/appagent/appagent/agent/upgrade"
)

func cmdDoctor() *command {
	var (
		asJSON bool
		cfgArg string
	)
	return &command{
		name:    "doctor",
		summary: "check the runtime and the running system, with a fix for each problem",
		help: `Runs init's preflight checks (tmpfs on /run, writable cgroups, the volume is a mount and takes
writes) and those that need the running system (systemd's state, units the image needs not
masked, whether units can have the mount namespace their sandboxing needs, the stop signal, journald's storage, hostname against the identity parameter, free
space, the lock on the volume, and its state files: a damaged manifest is found here). Prints one line per check: PASS, INFO, WARN or FAIL, with
the fix for each problem (docs/doctor.md lists every check). On Kubernetes and OpenShift it
also says what the pod runs with (user namespace, SCC, service account token).

--json prints {"checks": [{check, severity, message, fix, flags}], "summary": "…",
"failed": true|false}.

Exit status: 0 when nothing failed (warnings included), 1 when a check failed.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage, exitcode.Config},
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON: {checks: [{check, severity, message, fix}], summary}")
			fs.StringVar(&cfgArg, "config", config.DefaultPath, "the image's declaration")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			cfg, err := config.Load(cfgArg)
			if err != nil {
				return exitcode.With(exitcode.Config, err)
			}
			o := doctor.Options{}
			if sd, err := status.Dial(); err != nil {
				o.UnitsErr = err
			} else {
				defer sd.Close()
				o.Units = status.ForDoctor{Systemd: sd}
			}
			for _, hu := range units.HookUnits(cfg, units.ImageBuildID("/")) {
				o.ExtraUnits = append(o.ExtraUnits, hu.Unit)
			}
			o.Record = func() (string, error) { return upgrade.VerifyRecord(upgrade.Options{Config: cfg}) }
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			rs := doctor.Run(cctx, cfg, preflight.Host(preflight.PID1Env()), o)
			if asJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				if rs == nil {
					rs = preflight.Results{}
				}
				if err := enc.Encode(map[string]any{"checks": rs, "summary": rs.Summary(), "failed": rs.Failed()}); err != nil {
					return err
				}
			} else {
				rs.Write(env.stdout)
				env.stdout.Write([]byte("\n" + rs.Summary() + "\n"))
			}
			if rs.Failed() {
				return exitcode.With(exitcode.Failure, errReported)
			}
			return nil
		},
	}
}
