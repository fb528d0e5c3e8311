package health

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/godbus/dbus/v5"
)

// Systemd answers the questions status asks systemd.
type Systemd interface {
	SystemState(ctx context.Context) (string, error)
	// Unit returns a unit's properties (Unit and, for services, Service interface).
	Unit(ctx context.Context, name string) (UnitProps, error)
	// Failed lists every unit in the failed state.
	Failed(ctx context.Context) ([]string, error)
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

// dbusSystemd talks to systemd over one connection to its private socket.
type dbusSystemd struct {
	conn *dbus.Conn
	mgr  dbus.BusObject
}

// Dial connects to systemd's private socket. The connection lives until Close: it is not
// bound to a context (a timeout context would close it under the caller's feet).
func Dial() (Systemd, error) {
	conn, err := dbus.Dial("unix:path=" + PrivateSocket)
	if err != nil {
		return nil, fmt.Errorf("connecting to systemd at %s: %w (status must run as root inside the container)", PrivateSocket, err)
	}
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("authenticating to systemd at %s: %w", PrivateSocket, err)
	}
	return &dbusSystemd{conn: conn, mgr: conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")}, nil
}

func (s *dbusSystemd) Close() { s.conn.Close() }

func (s *dbusSystemd) SystemState(ctx context.Context) (string, error) {
	var v dbus.Variant
	err := s.mgr.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		"org.freedesktop.systemd1.Manager", "SystemState").Store(&v)
	if err != nil {
		return "", fmt.Errorf("systemd SystemState: %w", err)
	}
	st, _ := v.Value().(string)
	return st, nil
}

func (s *dbusSystemd) Unit(ctx context.Context, name string) (UnitProps, error) {
	var p UnitProps
	var path dbus.ObjectPath
	// LoadUnit loads a unit that nothing pulled in yet, so a masked or missing unit shows
	// as such instead of an error.
	if err := s.mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.LoadUnit", 0, name).Store(&path); err != nil {
		return p, fmt.Errorf("systemd LoadUnit %s: %w", name, err)
	}
	obj := s.conn.Object("org.freedesktop.systemd1", path)
	// An empty interface name returns the properties of every interface in one call.
	var props map[string]dbus.Variant
	if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, "").Store(&props); err != nil {
		return p, fmt.Errorf("systemd properties of %s: %w", name, err)
	}
	str := func(k string) string { s, _ := props[k].Value().(string); return s }
	u64 := func(k string) uint64 { v, _ := props[k].Value().(uint64); return v }
	p.LoadState, p.ActiveState, p.SubState = str("LoadState"), str("ActiveState"), str("SubState")
	p.StateChange, p.ActiveEnter = u64("StateChangeTimestamp"), u64("ActiveEnterTimestamp")
	p.ConditionResult, _ = props["ConditionResult"].Value().(bool)
	p.ConditionTimestamp = u64("ConditionTimestamp")
	if _, ok := props["ExecMainStatus"]; ok {
		p.IsService = true
		p.Result = str("Result")
		p.NRestarts, _ = props["NRestarts"].Value().(uint32)
		p.ExecMainCode, _ = props["ExecMainCode"].Value().(int32)
		p.ExecMainStatus, _ = props["ExecMainStatus"].Value().(int32)
	} else {
		p.Result = str("Result") // timers, sockets, mounts have a Result too
	}
	return p, nil
}

func (s *dbusSystemd) Failed(ctx context.Context) ([]string, error) {
	type unitStatus struct {
		Name, Description, Load, Active, Sub, Following string
		Path                                            dbus.ObjectPath
		JobID                                           uint32
		JobType                                         string
		JobPath                                         dbus.ObjectPath
	}
	var list []unitStatus
	if err := s.mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.ListUnitsFiltered", 0, []string{"failed"}).Store(&list); err != nil {
		return nil, fmt.Errorf("systemd ListUnitsFiltered: %w", err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	return names, nil
}

// ForDoctor adapts a Systemd to what doctor asks (preflight.Units).
type ForDoctor struct{ Systemd }

func (d ForDoctor) LoadState(ctx context.Context, unit string) (string, error) {
	p, err := d.Unit(ctx, unit)
	return p.LoadState, err
}
