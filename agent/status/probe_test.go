package status

import (
	"testing"

	"github.com/appagent/appagent/agent/exitcode"
)

func TestProbeCode(t *testing.T) {
	type want struct{ ready, started, live exitcode.Code }
	for s, w := range map[State]want{
		Starting: {exitcode.Starting, exitcode.Starting, exitcode.OK},
		Ready:    {exitcode.OK, exitcode.OK, exitcode.OK},
		Degraded: {exitcode.Degraded, exitcode.OK, exitcode.OK},
		Failed:   {exitcode.Failed, exitcode.OK, exitcode.Failed},
		Stopping: {exitcode.Failed, exitcode.OK, exitcode.Failed},
		Unknown:  {exitcode.NotAvailable, exitcode.NotAvailable, exitcode.NotAvailable},
	} {
		for p, c := range map[Probe]exitcode.Code{ProbeReady: w.ready, ProbeStarted: w.started, ProbeLive: w.live} {
			if got := s.ProbeCode(p); got != c {
				t.Errorf("state %s, probe %s: exit %d, want %d", s, p, got, c)
			}
		}
		if s.ProbeCode(ProbeReady) != s.Code() {
			t.Errorf("state %s: the ready probe must be plain status", s)
		}
	}
}

func TestParseProbe(t *testing.T) {
	for _, p := range Probes {
		if got, err := ParseProbe(string(p)); err != nil || got != p {
			t.Errorf("ParseProbe(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := ParseProbe("alive"); err == nil || err.Error() != `unknown probe "alive"; one of: ready, started, live` {
		t.Errorf("ParseProbe(alive): %v", err)
	}
}
