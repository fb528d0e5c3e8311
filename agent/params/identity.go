package params

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/appagent/appagent/agent/config"
)

// IdentityOptions are the system interfaces ApplyIdentity uses; tests swap them.
type IdentityOptions struct {
	Hosts       string                     // default /etc/hosts
	Hostname    func() (string, error)     // default os.Hostname
	SetHostname func(name string) error    // default syscall.Sethostname
	Addresses   func() ([]net.Addr, error) // default net.InterfaceAddrs
	Out         io.Writer                  // what was done and what could not be
}

const hostsMarker = "# appagent identity"

// ApplyIdentity makes the FQDN in the parameter cfg.Identity names the container's name where
// the runtime allows it: a line in /etc/hosts so the name resolves inside the container, and
// the kernel hostname (sethostname needs CAP_SYS_ADMIN in the container's UTS namespace, which
// nspawn grants and podman/docker do not by default). What cannot be done is said on Out with
// the runtime flag that does it instead; it never stops the start.
func ApplyIdentity(cfg *config.Config, set *Set, o IdentityOptions) {
	if cfg.Identity == "" {
		return
	}
	v, ok := set.Get(cfg.Identity)
	if !ok || !v.IsSet() || v.Value == "" {
		return
	}
	fqdn := v.Value
	if o.Hosts == "" {
		o.Hosts = "/etc/hosts"
	}
	if o.Hostname == nil {
		o.Hostname = os.Hostname
	}
	if o.SetHostname == nil {
		o.SetHostname = func(n string) error { return syscall.Sethostname([]byte(n)) }
	}
	if o.Addresses == nil {
		o.Addresses = net.InterfaceAddrs
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if cur, err := o.Hostname(); err != nil || cur != fqdn {
		if err := o.SetHostname(fqdn); err != nil {
			hint := ""
			if errors.Is(err, syscall.EPERM) {
				hint = fmt.Sprintf("; start the container with --hostname %s (podman, docker) or hostname: in the pod spec", fqdn)
			}
			fmt.Fprintf(o.Out, "appagent init: cannot set the hostname to %s (%s): %v%s\n", fqdn, cfg.Identity, err, hint)
		} else {
			fmt.Fprintf(o.Out, "appagent init: hostname set to %s (%s)\n", fqdn, cfg.Identity)
		}
	}
	ip := "127.0.1.1"
	if addrs, err := o.Addresses(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				ip = n.IP.String()
				break
			}
		}
	}
	if err := setHostsLine(o.Hosts, ip, fqdn, cfg.Identity); err != nil {
		fmt.Fprintf(o.Out, "appagent init: cannot make %s resolvable in %s: %v; start the container with --add-host %s:%s (podman, docker) or hostAliases in the pod spec\n",
			fqdn, o.Hosts, err, fqdn, ip)
	}
}

// setHostsLine writes "IP FQDN SHORT # appagent identity (PARAM)" into the hosts file,
// replacing the line an earlier start wrote. The file is rewritten in place, not renamed:
// podman and docker bind-mount /etc/hosts, and a rename over a mount point fails.
func setHostsLine(path, ip, fqdn, param string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	short, _, _ := strings.Cut(fqdn, ".")
	line := fmt.Sprintf("%s\t%s %s\t%s (%s)", ip, fqdn, short, hostsMarker, param)
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if strings.Contains(l, hostsMarker) || (l == "" && len(out) == 0) {
			continue
		}
		out = append(out, l)
	}
	out = append(out, line)
	text := strings.Join(out, "\n") + "\n"
	if text == string(data) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
