package failure

import (
	"context"
	"strings"

	"github.com/appagent/appagent/agent/units"
	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

// unitQuery is what the failure report asks systemd about a unit, through go-systemd's D-Bus
// client on systemd's private socket (no dbus daemon, no systemctl process per question).
// A nil *unitQuery (systemd not reachable) answers "" to every question: the report then
// says less, it does not fail.
type unitQuery struct{ c *sddbus.Conn }

func dialQuery() *unitQuery {
	c, err := sddbus.NewSystemdConnectionContext(context.Background())
	if err != nil {
		return nil
	}
	return &unitQuery{c: c}
}

func (q *unitQuery) close() {
	if q != nil {
		q.c.Close()
	}
}

// prop is a property of the unit's type interface (Service, Socket, Timer, …), as
// `systemctl show --property=NAME --value` prints it; "" when it cannot be read.
func (q *unitQuery) prop(ctx context.Context, unit, name string) string {
	if q == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	p, err := q.c.GetUnitTypePropertyContext(ctx, unit, unitType(unit), name)
	if err != nil {
		return ""
	}
	return units.ShowValue(p.Value.Value())
}

// execStart is the argv of the unit's first ExecStart= command; nil when it cannot be read.
func (q *unitQuery) execStart(ctx context.Context, unit string) []string {
	if q == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	p, err := q.c.GetUnitTypePropertyContext(ctx, unit, unitType(unit), "ExecStart")
	if err != nil {
		return nil
	}
	return execArgv(p.Value.Value())
}

// systemState is systemd's state (running, degraded, stopping, …); "" when unknown.
func (q *unitQuery) systemState(ctx context.Context) string {
	if q == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	p, err := q.c.SystemStateContext(ctx)
	if err != nil {
		return ""
	}
	s, _ := p.Value.Value().(string)
	return s
}

// unitType is the D-Bus interface name of the unit's type: Service for foo.service.
func unitType(unit string) string {
	i := strings.LastIndexByte(unit, '.')
	if i < 0 || i == len(unit)-1 {
		return "Unit"
	}
	t := unit[i+1:]
	return strings.ToUpper(t[:1]) + t[1:]
}
