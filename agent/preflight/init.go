package preflight

import (
	"fmt"
	"io"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// BeforeInit is init's preflight: it runs Check, prints warnings and failures (with their
// Fixes) to out, the container's output, and returns an error carrying exitcode.Preflight when
// a check failed. With APPAGENT_SKIP_PREFLIGHT=1 in the environment it prints that it skipped.
func BeforeInit(cfg *config.Config, sys *System, out io.Writer) error {
	if sys.Getenv(SkipEnv) == "1" {
		fmt.Fprintf(out, "appagent: preflight skipped (%s=1)\n", SkipEnv)
		return nil
	}
	rs := Check(cfg, sys)
	shown := rs.Only(Fail, Warn)
	if !rs.Failed() {
		if len(shown) > 0 {
			fmt.Fprintln(out, "appagent: preflight warnings (the container starts anyway):")
			shown.Write(out)
		}
		return nil
	}
	rt := DetectRuntime(sys)
	fmt.Fprintf(out, "appagent: preflight: this container runtime cannot run the application (runtime: %s):\n", rt)
	shown.Write(out)
	if line := rs.FlagLine(); line != "" {
		fmt.Fprintf(out, "appagent: add to the %s command line: %s\n", runCommand(rt), line)
	}
	fmt.Fprintf(out, "appagent: not starting systemd. See docs/doctor.md; %s=1 skips these checks.\n", SkipEnv)
	n := len(rs.Only(Fail))
	return exitcode.Withf(exitcode.Preflight, "preflight: %d check(s) failed: %s", n, failedNames(rs))
}

func failedNames(rs Results) string {
	s := ""
	for _, r := range rs.Only(Fail) {
		if s != "" {
			s += ", "
		}
		s += r.Check
	}
	return s
}

// runCommand names the command whose flags FlagLine gives.
func runCommand(rt Runtime) string {
	switch rt {
	case Podman, Docker:
		return string(rt) + " run"
	case Nspawn:
		return "systemd-nspawn"
	}
	return "run"
}
