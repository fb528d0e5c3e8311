package logfwd

import (
	"strings"

	"github.com/appagent/appagent/agent/config"
)

// Filter decides which entries are forwarded. The zero Filter forwards everything up to info.
type Filter struct {
	// Units and Identifiers: when either is set, an entry is forwarded if its unit is listed
	// OR its identifier is listed. systemd's own messages about a listed unit count as that
	// unit's (see Entry.Unit). Unit names without a suffix mean ".service".
	Units       []string
	Identifiers []string
	// MaxPriority is the least important priority forwarded (6 = info).
	MaxPriority int
}

var priorityNames = config.Priorities

// ParsePriority is config.ParseLogPriority: one grammar for the declaration and the overrides.
func ParsePriority(s string) (int, error) { return config.ParseLogPriority(s) }

func normalizeUnits(us []string) []string {
	var out []string
	for _, u := range us {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if !strings.Contains(u, ".") {
			u += ".service"
		}
		out = append(out, u)
	}
	return out
}

// Match reports whether e is forwarded.
func (f *Filter) Match(e *Entry) bool {
	if e.Priority > f.MaxPriority {
		return false
	}
	if len(f.Units) == 0 && len(f.Identifiers) == 0 {
		return true
	}
	for _, u := range f.Units {
		if e.Unit == u {
			return true
		}
	}
	for _, id := range f.Identifiers {
		if e.Identifier == id {
			return true
		}
	}
	return false
}
