package logfwd

import (
	"fmt"
	"strconv"
	"strings"
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

var priorityNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// ParsePriority accepts a syslog priority name (emerg..debug, also "error", "warn") or 0-7.
func ParsePriority(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "":
		return 6, nil
	case "error":
		return 3, nil
	case "warn":
		return 4, nil
	}
	for i, n := range priorityNames {
		if n == s {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 7 {
		return n, nil
	}
	return 0, fmt.Errorf("log priority %q is not known; use one of %s or 0-7 (logs.priority in the config, APPAGENT_LOG_PRIORITY at run time)", s, strings.Join(priorityNames, ", "))
}

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
