//go:build appagent_handdbus

package status

// This is the D-Bus client status had before it used go-systemd's (systemd_dbus.go): one
// private connection, D-Bus paths escaped by hand, every property request sent before the
// first answer is awaited. It is built only with -tags appagent_handdbus, as the baseline of
// integration's BenchmarkStatusNspawn (issue 14: go-systemd, measured against this code).

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

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

// UnitPath is the D-Bus object path of a unit (sd_bus_path_encode): reading it makes
// systemd load a unit nothing pulled in yet, so a masked or missing unit shows as such.
// (LoadUnit would do the same, but as the first call on a fresh private connection it was
// seen to get no answer: 17 times in 20 on systemd 252.)
func UnitPath(name string) dbus.ObjectPath {
	var b strings.Builder
	b.WriteString("/org/freedesktop/systemd1/unit/")
	if name == "" {
		b.WriteByte('_')
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return dbus.ObjectPath(b.String())
}

func (s *dbusSystemd) Unit(ctx context.Context, name string) (UnitProps, error) {
	ps, errs := s.Units(ctx, []string{name})
	return ps[0], errs[0]
}

// Units reads the properties of several units with every request sent before the first
// answer is awaited.
func (s *dbusSystemd) Units(ctx context.Context, names []string) ([]UnitProps, []error) {
	type pending struct {
		unit, svc []*dbus.Call
	}
	all := make([]pending, len(names))
	for i, n := range names {
		obj := s.conn.Object("org.freedesktop.systemd1", UnitPath(n))
		for _, p := range unitProps {
			all[i].unit = append(all[i].unit, obj.GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nil, "org.freedesktop.systemd1.Unit", p))
		}
		if strings.HasSuffix(n, ".service") {
			for _, p := range serviceProps {
				all[i].svc = append(all[i].svc, obj.GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nil, "org.freedesktop.systemd1.Service", p))
			}
		}
	}
	props := make([]UnitProps, len(names))
	errs := make([]error, len(names))
	for i, n := range names {
		vals := map[string]any{}
		for k, c := range all[i].unit {
			<-c.Done
			var v dbus.Variant
			if err := c.Store(&v); err != nil {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("systemd: %s of %s: %w", unitProps[k], n, err)
				}
				continue
			}
			vals[unitProps[k]] = v.Value()
		}
		for k, c := range all[i].svc {
			<-c.Done
			var v dbus.Variant
			if err := c.Store(&v); err == nil {
				vals[serviceProps[k]] = v.Value()
			}
		}
		props[i] = unitFrom(vals)
	}
	return props, errs
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

// Properties reads a service's properties, rendered as `systemctl show` prints the simple
// ones: yes/no, strings, space-separated string lists; a list of structures as "set" when
// it has entries. A property this systemd does not have is left out.
func (s *dbusSystemd) Properties(ctx context.Context, unit string, names []string) (map[string]string, error) {
	obj := s.conn.Object("org.freedesktop.systemd1", UnitPath(unit))
	calls := make([]*dbus.Call, len(names))
	for i, n := range names {
		calls[i] = obj.GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nil, "org.freedesktop.systemd1.Service", n)
	}
	out := map[string]string{}
	for i, c := range calls {
		<-c.Done
		var v dbus.Variant
		if err := c.Store(&v); err != nil {
			continue
		}
		out[names[i]] = showValue(v.Value())
	}
	return out, nil
}
