package status

import (
	"context"

	"github.com/appagent/appagent/agent/units"
)

// Systemd answers the questions status asks systemd.
type Systemd interface {
	SystemState(ctx context.Context) (string, error)
	// Unit returns a unit's properties (Unit and, for services, Service interface).
	Unit(ctx context.Context, name string) (UnitProps, error)
	// Units is Unit for several units at once (one round trip's latency, not one per unit).
	Units(ctx context.Context, names []string) ([]UnitProps, []error)
	// Failed lists every unit in the failed state.
	Failed(ctx context.Context) ([]string, error)
	// Properties reads a service's properties, rendered as `systemctl show` prints them.
	Properties(ctx context.Context, unit string, names []string) (map[string]string, error)
	Close()
}

// UnitProps are the unit properties status reads (systemd.directives(7) names).
type UnitProps struct {
	LoadState, ActiveState, SubState string
	StateChange                      uint64 // StateChangeTimestamp, µs since the epoch
	ActiveEnter                      uint64 // ActiveEnterTimestamp
	ConditionResult                  bool
	ConditionTimestamp               uint64
	Result                           string // services: success, exit-code, signal, …
	NRestarts                        uint32
	ExecMainCode                     int32 // CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3)
	ExecMainStatus                   int32
	IsService                        bool
}

// PrivateSocket is systemd's own D-Bus socket: it works without a dbus daemon, root only.
const PrivateSocket = "/run/systemd/private"

// unitProps and serviceProps are the properties read per unit, one Properties.Get each
// (~15 µs a property, where one GetAll of every interface costs ~2 ms).
var (
	unitProps    = []string{"LoadState", "ActiveState", "SubState", "StateChangeTimestamp", "ActiveEnterTimestamp", "ConditionResult", "ConditionTimestamp"}
	serviceProps = []string{"Result", "NRestarts", "ExecMainCode", "ExecMainStatus"}
)

// ForDoctor adapts a Systemd to what doctor asks (doctor.Units).
type ForDoctor struct{ Systemd }

func (d ForDoctor) LoadState(ctx context.Context, unit string) (string, error) {
	p, err := d.Unit(ctx, unit)
	return p.LoadState, err
}

func (d ForDoctor) ExitStatus(ctx context.Context, unit string) (int32, error) {
	p, err := d.Unit(ctx, unit)
	return p.ExecMainStatus, err
}

// showValue is units.ShowValue: one rendering of properties for status and the report.
func showValue(v any) string { return units.ShowValue(v) }

// unitFrom makes UnitProps of the properties read (by name, as D-Bus gave them); a
// property that could not be read keeps its zero value.
func unitFrom(vals map[string]any) UnitProps {
	var u UnitProps
	str := func(k string) string { s, _ := vals[k].(string); return s }
	u64 := func(k string) uint64 { v, _ := vals[k].(uint64); return v }
	u.LoadState, u.ActiveState, u.SubState = str("LoadState"), str("ActiveState"), str("SubState")
	u.StateChange, u.ActiveEnter = u64("StateChangeTimestamp"), u64("ActiveEnterTimestamp")
	u.ConditionResult, _ = vals["ConditionResult"].(bool)
	u.ConditionTimestamp = u64("ConditionTimestamp")
	if _, ok := vals["ExecMainStatus"]; ok {
		u.IsService = true
		u.Result = str("Result")
		u.NRestarts, _ = vals["NRestarts"].(uint32)
		u.ExecMainCode, _ = vals["ExecMainCode"].(int32)
		u.ExecMainStatus, _ = vals["ExecMainStatus"].(int32)
	}
	return u
}
