package status

import (
	"fmt"
	"strings"

	"github.com/appagent/appagent/agent/exitcode"
)

// Probe is the question an orchestrator's probe asks (`appagent status --probe=P`). Plain
// `status` answers "ready?"; Kubernetes also needs "has the start finished?" (startupProbe)
// and "is it still alive?" (livenessProbe), whose answers differ for starting, degraded and
// failed.
type Probe string

const (
	ProbeReady   Probe = "ready"   // 0 only when ready (readinessProbe, HEALTHCHECK)
	ProbeStarted Probe = "started" // 0 once the start is over, however it ended (startupProbe)
	ProbeLive    Probe = "live"    // 0 unless failed or stopping (livenessProbe)
)

// Probes lists the probes in the order --help shows them.
var Probes = []Probe{ProbeReady, ProbeStarted, ProbeLive}

// ParseProbe reads --probe's value.
func ParseProbe(s string) (Probe, error) {
	for _, p := range Probes {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, len(Probes))
	for i, p := range Probes {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown probe %q; one of: %s", s, strings.Join(names, ", "))
}

// ProbeCode is the exit code that answers probe p in state s. A failed start counts as
// started, so that the liveness probe (which then fails) decides the restart; an unknown state
// never passes, so a hung systemd fails liveness after the probe's failureThreshold.
func (s State) ProbeCode(p Probe) exitcode.Code {
	switch p {
	case ProbeStarted:
		switch s {
		case Ready, Degraded, Failed, Stopping:
			return exitcode.OK
		case Starting:
			return exitcode.Starting
		}
		return exitcode.NotAvailable
	case ProbeLive:
		switch s {
		case Starting, Ready, Degraded:
			return exitcode.OK
		case Failed, Stopping:
			return exitcode.Failed
		}
		return exitcode.NotAvailable
	}
	return s.Code()
}
