package checks

import (
	"time"

	"github.com/appagent/appagent/agent/config"
)

// tracker is one check's state machine. Failures count once the check has passed, or once
// its start period is over (from its unit's start, or the container's: admit); retries
// failures in a row make it failing, one pass makes it passing again.
type tracker struct {
	check      config.Check
	started    time.Time // of the start period
	passedOnce bool
	bootSeen   bool // a check of no unit saw the container's start finish
	res        Result
}

func newTracker(c config.Check, started time.Time) *tracker {
	kind, target := describe(c)
	since := started
	return &tracker{check: c, started: started, res: Result{Name: c.Name, Unit: c.Unit, Kind: kind, Target: target,
		State: Pending, OnFail: c.OnFail, Since: &since}}
}

// record takes one run's outcome and tells whether the state changed between passing and
// failing (what the check hook hears of; the first pass is not news).
func (k *tracker) record(now time.Time, ok bool, output string) (changed bool) {
	t := now.UTC()
	k.res.LastRun, k.res.Output = &t, output
	prev := k.res.State
	if ok {
		k.res.Failures = 0
		k.passedOnce = true
		if prev != Passing {
			k.res.State, k.res.Since = Passing, &t
		}
		return prev == Failing
	}
	if !k.passedOnce && now.Sub(k.started) < k.check.StartPeriod.Duration {
		return false
	}
	k.res.Failures++
	if k.res.Failures >= k.check.Retries && prev != Failing {
		k.res.State, k.res.Since = Failing, &t
		return true
	}
	return false
}

func describe(c config.Check) (kind, target string) {
	switch {
	case c.HTTP != "":
		return "http", c.HTTP
	case c.TCP != "":
		return "tcp", c.TCP
	}
	return "command", c.Command
}
