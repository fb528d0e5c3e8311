package preflight

import (
	"fmt"
	"io"
	"strings"
)

// Severity of one check's result.
type Severity string

const (
	Pass Severity = "pass" // fine
	Info Severity = "info" // cannot be checked from inside; advice only
	Warn Severity = "warn" // works, but something will hurt later (data loss, disk full, …)
	Fail Severity = "fail" // systemd cannot run or data cannot be kept: init refuses to start
)

// Result is the outcome of one check. Check is a stable identifier (docs/doctor.md lists them).
type Result struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// Flags are the run command's flags that fix this result on the detected runtime, when
	// flags are the fix (FlagLine joins those of all failed results).
	Flags []string `json:"flags,omitempty"`
}

// Results of several checks, in the order they ran.
type Results []Result

// Failed tells whether any check failed.
func (rs Results) Failed() bool { return rs.count(Fail) > 0 }

// Warned tells whether any check warned.
func (rs Results) Warned() bool { return rs.count(Warn) > 0 }

func (rs Results) count(s Severity) int {
	n := 0
	for _, r := range rs {
		if r.Severity == s {
			n++
		}
	}
	return n
}

// Only returns the results of the given severities.
func (rs Results) Only(sev ...Severity) Results {
	var out Results
	for _, r := range rs {
		for _, s := range sev {
			if r.Severity == s {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Summary is one line such as "2 failed, 1 warning, 5 passed".
func (rs Results) Summary() string {
	var parts []string
	add := func(n int, one, many string) {
		if n == 1 {
			parts = append(parts, "1 "+one)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(rs.count(Fail), "failed", "failed")
	add(rs.count(Warn), "warning", "warnings")
	add(rs.count(Info), "note", "notes")
	add(rs.count(Pass), "passed", "passed")
	if len(parts) == 0 {
		return "no checks ran"
	}
	return strings.Join(parts, ", ")
}

// Write prints one block per result for people:
//
//	FAIL  run-tmpfs  /run is not a tmpfs …
//	      fix: podman: --systemd=always …
func (rs Results) Write(w io.Writer) {
	width := 0
	for _, r := range rs {
		width = max(width, len(r.Check))
	}
	for _, r := range rs {
		fmt.Fprintf(w, "%-4s  %-*s  %s\n", strings.ToUpper(string(r.Severity)), width, r.Check, r.Message)
		if r.Fix != "" {
			fmt.Fprintf(w, "%-4s  %-*s  fix: %s\n", "", width, "", r.Fix)
		}
	}
}

// FlagLine is the one line of run flags that Fixes every failed result on this runtime (each
// flag once, in the order of the checks), or "" when flags are not the fix.
func (rs Results) FlagLine() string {
	var flags []string
	for _, r := range rs.Only(Fail) {
		flags = appendNew(flags, r.Flags...)
	}
	return strings.Join(flags, " ")
}
