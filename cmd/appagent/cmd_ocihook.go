package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/ocihook"
	"github.com/appagent/appagent/agent/units"
)

func cmdOCIHook() *command {
	var printConfig bool
	return &command{
		name:    "oci-hook",
		summary: "on the host: let systemd run in a user namespace on cgroup v1 (an OCI hook)",
		help: `Runs on the HOST, as root, called by the container runtime as an OCI createRuntime hook
with the container's state on stdin. When the container has a user namespace, it gives the
container's name=systemd cgroup to the host uid its root maps to, so that systemd can create
cgroups there: on a cgroup v1 or hybrid host no podman or Docker flag does that, and systemd
fails with "Failed to create …/init.scope control group: Permission denied". A container
without a user namespace, or a cgroup v2 host (where the runtime delegates), is left alone.

Install it for podman (the hook then runs for containers annotated ` + ocihook.Annotation + `=true):

    appagent oci-hook --print-config > /usr/share/containers/oci/hooks.d/appagent-cgroup.json
    podman run -d --userns=auto --annotation ` + ocihook.Annotation + `=true -v NAME:/data:U IMAGE

See docs/runtimes.md#user-namespaces.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage},
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&printConfig, "print-config", false, "print the hooks.d file for this binary ("+units.Binary+") and exit")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if printConfig {
				b, err := ocihook.Config(units.Binary)
				if err != nil {
					return err
				}
				_, err = env.stdout.Write(b)
				return err
			}
			r, err := ocihook.Delegate(ocihook.DefaultHost, os.Stdin)
			if err != nil {
				return err
			}
			// The runtime shows a hook's output only when it fails; this line is for people
			// running it by hand.
			if r.Skipped != "" {
				fmt.Fprintf(env.stdout, "appagent oci-hook: nothing to do: %s\n", r.Skipped)
			} else {
				fmt.Fprintf(env.stdout, "appagent oci-hook: gave %s to %d:%d\n", r.Dir, r.UID, r.GID)
			}
			return nil
		},
	}
}
