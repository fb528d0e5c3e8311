package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"strconv"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/status"
)

// errReported marks an exit code whose explanation the command already printed.
var errReported = errors.New("reported")

// waitFlag is --wait (default timeout) or --wait=DURATION.
type waitFlag struct {
	on bool
	d  time.Duration
}

const defaultWait = 5 * time.Minute

func (w *waitFlag) IsBoolFlag() bool { return true }
func (w *waitFlag) String() string {
	if w == nil || !w.on {
		return "false"
	}
	return w.d.String()
}
func (w *waitFlag) Set(s string) error {
	if b, err := strconv.ParseBool(s); err == nil {
		w.on, w.d = b, defaultWait
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return errors.New("expected a duration such as 90s or 10m")
	}
	w.on, w.d = true, d
	return nil
}

func cmdStatus() *command {
	var (
		asJSON bool
		wait   waitFlag
		cfgArg string
		probe  string
	)
	return &command{
		name:    "status",
		summary: "report the container's health for people and probes",
		help: `Shows the container's overall state and why, each application unit (state, since when,
restarts, last result), the first-boot and upgrade hooks, the volume's format and build id
against the image's, files an upgrade left to review, and the parameters with their source
(secrets only as "set"). It asks systemd over its private socket, so it must run as root in the
container: podman exec CONTAINER appagent status.

--json prints one JSON document (docs/status.md lists every field). --wait blocks until the
state is ready, degraded or failed (default timeout 5m; --wait=90s sets another).

As a probe: plain status exits 0 only when ready. --probe=started exits 0 once the start is
over however it ended (a startupProbe), --probe=live exits 0 unless failed or stopping (a
livenessProbe); appagent kube writes all three:
    HEALTHCHECK CMD ["/usr/bin/appagent", "status"]
    readinessProbe: {exec: {command: ["/usr/bin/appagent", "status", "--probe=ready"]}}
    livenessProbe:  {exec: {command: ["/usr/bin/appagent", "status", "--probe=live"]}}`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Starting, exitcode.Degraded, exitcode.Failed, exitcode.NotAvailable, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON (docs/status.md)")
			fs.Var(&wait, "wait", "wait until ready, degraded or failed; --wait=DURATION sets the timeout (default 5m)")
			fs.StringVar(&cfgArg, "config", config.DefaultPath, "the image's declaration")
			fs.StringVar(&probe, "probe", string(status.ProbeReady), "the exit code answers this probe: ready, started or live")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			pr, err := status.ParseProbe(probe)
			if err != nil {
				return exitcode.With(exitcode.Usage, err)
			}
			cfg, err := config.Load(cfgArg)
			if err != nil {
				return exitcode.With(exitcode.NotAvailable, err)
			}
			var sd status.Systemd
			defer func() {
				if sd != nil {
					sd.Close()
				}
			}()
			collect := func() *status.Status {
				var derr error
				if sd == nil {
					sd, derr = status.Dial()
				}
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second) // a probe must get an answer, even "not available"
				defer cancel()
				st := status.Collect(cctx, status.Options{Config: cfg, Systemd: sd, DialErr: derr})
				if st.State == status.Unknown && sd != nil {
					sd.Close() // reconnect on the next try: systemd may have re-executed
					sd = nil
				}
				return st
			}
			var st *status.Status
			if wait.on {
				wctx, cancel := context.WithTimeout(ctx, wait.d)
				defer cancel()
				st = status.Wait(wctx, 250*time.Millisecond, collect)
			} else {
				st = collect()
			}
			if asJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				st.WriteTable(env.stdout)
			}
			return exitcode.With(st.State.ProbeCode(pr), errReported)
		},
	}
}
