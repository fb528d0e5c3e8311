package config

import (
	"fmt"
	"strconv"
	"strings"
)

// The grammar of the log settings, for logs: in the declaration and for the APPAGENT_LOG_*
// overrides at run time alike (agent/logfwd reads both through these): one spelling accepted
// in both places.

// LogFormats are the formats of forwarded lines.
var LogFormats = []string{"short", "json"}

// Priorities are the syslog priority names, 0 (emerg) to 7 (debug).
var Priorities = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// ParseLogFormat returns the format's name ("" is short); case and spaces do not matter.
func ParseLogFormat(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "short", nil
	}
	if contains(LogFormats, s) {
		return s, nil
	}
	return "", fmt.Errorf("log format %q is not known; use %s (logs.format in the config, APPAGENT_LOG_FORMAT at run time)", s, strings.Join(LogFormats, " or "))
}

// ParseLogPriority returns the lowest priority forwarded, 0-7: a name of Priorities (also
// "error" and "warn"), or the number; "" is info.
func ParseLogPriority(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "":
		return 6, nil
	case "error":
		return 3, nil
	case "warn":
		return 4, nil
	}
	for i, n := range Priorities {
		if n == s {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 7 {
		return n, nil
	}
	return 0, fmt.Errorf("log priority %q is not known; use one of %s or 0-7 (logs.priority in the config, APPAGENT_LOG_PRIORITY at run time)", s, strings.Join(Priorities, ", "))
}
