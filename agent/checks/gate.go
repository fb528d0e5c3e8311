package checks

import (
	"context"
	"time"
)

// Gate is what decides whether a check may run yet: a check of a unit that has not started
// only fails, and its failures would use up the start period of a unit that was still
// waiting for a hook (a replica's join hook waits minutes for its primary; the database
// check would then fail the container, and its liveness probe restart a pod that was fine).
type Gate struct {
	// Booting: systemd is still starting the container (its state is initializing or
	// starting): hooks or application units are still to come.
	Booting bool
	// UnitActive is when the check's unit last entered the active state (systemd's
	// ActiveEnterTimestamp); zero: not since the container's start.
	UnitActive time.Time
}

// GateFunc reads the Gate of a check of unit ("" for a check of no unit).
type GateFunc func(ctx context.Context, unit string) (Gate, error)

// admit tells whether the check runs now, and moves the start of its start period to when
// the check could first succeed: its unit's last entry into the active state, or, for a check
// of no unit, the end of the container's start. Once passed, a check always runs: a unit
// that stops or restarts later is what the check is there to see.
func (k *tracker) admit(now time.Time, g Gate) bool {
	if k.passedOnce {
		return true
	}
	if k.check.Unit != "" {
		if g.UnitActive.IsZero() {
			k.res.Output = "waiting for " + k.check.Unit + " to start"
			return false
		}
		if g.UnitActive.After(k.started) {
			k.started = g.UnitActive
		}
		return true
	}
	if g.Booting {
		k.res.Output = "waiting for the container's start (hooks and units) to finish"
		return false
	}
	if !k.bootSeen {
		k.bootSeen = true
		if now.After(k.started) {
			k.started = now
		}
	}
	return true
}
