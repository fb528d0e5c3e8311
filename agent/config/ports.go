package config

import (
	"fmt"
	"regexp"
	"strings"
)

// PortProtocols are the values of a port's protocol.
var PortProtocols = []string{"TCP", "UDP", "SCTP"}

// portName is Kubernetes' IANA_SVC_NAME rule (a Service port's name): the names go into
// Services unchanged, so a name the API would refuse is refused here, at build time.
var portName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func (c *Config) validatePorts(errf func(line int, key, format string, a ...any)) {
	names := map[string]int{}
	numbers := map[string]int{}
	for i, p := range c.Ports {
		key := fmt.Sprintf("ports[%d]", i)
		if p.Name != "" {
			key = fmt.Sprintf("ports[%d] (%s)", i, p.Name)
		}
		switch {
		case p.Name == "":
			errf(p.Line, key, "a port needs a name (like http or ssh)")
		case len(p.Name) > 15 || !portName.MatchString(p.Name) || strings.Contains(p.Name, "--") || !strings.ContainsAny(p.Name, "abcdefghijklmnopqrstuvwxyz"):
			errf(p.Line, key+".name", "%q must be at most 15 lower case letters, digits and single dashes, with a letter (Kubernetes' port name rule)", p.Name)
		}
		if first, dup := names[p.Name]; dup && p.Name != "" {
			errf(p.Line, key+".name", "port name %q is used twice (first at line %d)", p.Name, first)
		}
		names[p.Name] = p.Line
		if p.Port < 1 || p.Port > 65535 {
			errf(p.Line, key+".port", "%d is not a port number (1-65535)", p.Port)
		}
		if !contains(PortProtocols, p.Protocol) {
			errf(p.Line, key+".protocol", "unknown protocol %q; one of: %s", p.Protocol, strings.Join(PortProtocols, ", "))
		}
		if p.HTTP && p.Protocol != "TCP" {
			errf(p.Line, key+".http", "an HTTP port is TCP, not %s", p.Protocol)
		}
		n := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if first, dup := numbers[n]; dup {
			errf(p.Line, key+".port", "port %s is declared twice (first at line %d)", n, first)
		}
		numbers[n] = p.Line
	}
}
