package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// CheckPolicies are the values of a check's on_fail.
var CheckPolicies = []string{"degraded", "failed"}

// Defaults of a check.
const (
	DefaultCheckInterval    = 30 * time.Second
	DefaultCheckTimeout     = 5 * time.Second
	DefaultCheckStartPeriod = 5 * time.Minute
	DefaultCheckRetries     = 3
)

var checkName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func (c *Config) checkDefaults() {
	for i := range c.Checks {
		k := &c.Checks[i]
		if k.Interval.Duration == 0 {
			k.Interval.Duration = DefaultCheckInterval
		}
		if k.Timeout.Duration == 0 {
			k.Timeout.Duration = DefaultCheckTimeout
		}
		if k.StartPeriod.Duration == 0 {
			k.StartPeriod.Duration = DefaultCheckStartPeriod
		}
		if k.Retries == 0 {
			k.Retries = DefaultCheckRetries
		}
		if k.OnFail == "" {
			k.OnFail = "degraded"
		}
		if k.HTTP != "" && len(k.Status) == 0 {
			k.Status = []int{200}
		}
	}
}

func (c *Config) validateChecks(errf func(line int, key, format string, a ...any)) {
	seen := map[string]int{}
	for i, k := range c.Checks {
		key := fmt.Sprintf("checks[%d]", i)
		if k.Name != "" {
			key = fmt.Sprintf("checks[%d] (%s)", i, k.Name)
		}
		switch {
		case k.Name == "":
			errf(k.Line, key, "a check needs a name (like http or database)")
		case !checkName.MatchString(k.Name) || len(k.Name) > 63:
			errf(k.Line, key+".name", "%q must be lower case letters, digits and -", k.Name)
		}
		if first, dup := seen[k.Name]; dup && k.Name != "" {
			errf(k.Line, key+".name", "check %q is declared twice (first at line %d)", k.Name, first)
		}
		seen[k.Name] = k.Line
		kinds := 0
		for _, s := range []string{k.Command, k.HTTP, k.TCP} {
			if s != "" {
				kinds++
			}
		}
		if kinds != 1 {
			errf(k.Line, key, "a check has exactly one of command, http and tcp (it has %d)", kinds)
		}
		if k.Command != "" && hasControl(k.Command) {
			errf(k.Line, key+".command", "the command must be one line without control characters")
		}
		if k.HTTP != "" {
			u, err := url.Parse(k.HTTP)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errf(k.Line, key+".http", "%q is not an http:// or https:// URL with a host", k.HTTP)
			}
		}
		if len(k.Status) > 0 && k.HTTP == "" {
			errf(k.Line, key+".status", "status applies to http checks only")
		}
		for _, st := range k.Status {
			if st < 100 || st > 599 {
				errf(k.Line, key+".status", "%d is not an HTTP status code", st)
			}
		}
		if k.TCP != "" {
			if _, port, err := net.SplitHostPort(k.TCP); err != nil || port == "" {
				errf(k.Line, key+".tcp", "%q is not host:port (like 127.0.0.1:5432)", k.TCP)
			}
		}
		if k.Unit != "" && !declaredUnit(c.Units, k.Unit) {
			errf(k.Line, key+".unit", "%q is not one of the units: list", k.Unit)
		}
		if k.Timeout.Duration > k.Interval.Duration {
			errf(k.Line, key+".timeout", "the timeout %s is longer than the interval %s", k.Timeout.Duration, k.Interval.Duration)
		}
		if k.Interval.Duration < time.Second {
			errf(k.Line, key+".interval", "%s is too short; a check runs at most once a second", k.Interval.Duration)
		}
		if k.Retries < 1 {
			errf(k.Line, key+".retries", "%d: at least one failure makes a check failing", k.Retries)
		}
		if !contains(CheckPolicies, k.OnFail) {
			errf(k.Line, key+".on_fail", "unknown policy %q; one of: %s", k.OnFail, strings.Join(CheckPolicies, ", "))
		}
	}
}
