package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Severity tells whether a problem stops the work.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Problem is one finding of a validation, located like a compiler message.
type Problem struct {
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Column   int      `json:"column,omitempty"`
	Key      string   `json:"key,omitempty"` // e.g. volume.paths[2]
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (p Problem) String() string {
	var loc strings.Builder
	if p.File != "" {
		loc.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&loc, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&loc, ":%d", p.Column)
			}
		}
		loc.WriteString(": ")
	}
	key := ""
	if p.Key != "" {
		key = p.Key + ": "
	}
	return fmt.Sprintf("%s%s: %s%s", loc.String(), p.Severity, key, p.Message)
}

// Report collects every problem of a validation so they can be shown at once.
type Report struct {
	Problems []Problem
}

// Add appends a problem.
// A message quotes what was found; a value of megabytes must not become a message of
// megabytes (in podman logs, in the agent's log). Longer messages are cut.
const maxMessage = 1000

// Add appends a problem, its message cut to maxMessage bytes (at a rune boundary).
func (r *Report) Add(p Problem) {
	if len(p.Message) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(p.Message[cut]) {
			cut--
		}
		p.Message = fmt.Sprintf("%s… (%d more bytes)", p.Message[:cut], len(p.Message)-cut)
	}
	r.Problems = append(r.Problems, p)
}

// Merge appends all problems of another report.
func (r *Report) Merge(o Report) { r.Problems = append(r.Problems, o.Problems...) }

// clone is a copy that later Adds to either do not reach the other.
func (r Report) clone() Report { return Report{Problems: slices.Clone(r.Problems)} }

// HasErrors tells whether any problem is an error (warnings do not stop work).
func (r Report) HasErrors() bool {
	for _, p := range r.Problems {
		if p.Severity == Error {
			return true
		}
	}
	return false
}

// Warnings returns the warnings only.
func (r Report) Warnings() []Problem {
	var w []Problem
	for _, p := range r.Problems {
		if p.Severity == Warning {
			w = append(w, p)
		}
	}
	return w
}

// Sort orders problems by file and line so output reads top to bottom.
func (r *Report) Sort() {
	sort.SliceStable(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i], r.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

func (r Report) String() string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// ReportError is returned when a report has errors; it prints every problem.
type ReportError struct{ Report Report }

func (e *ReportError) Error() string {
	n := 0
	for _, p := range e.Report.Problems {
		if p.Severity == Error {
			n++
		}
	}
	noun := "problems"
	if n == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%d %s found:\n%s", n, noun, strings.TrimRight(e.Report.String(), "\n"))
}

// Err returns a *ReportError when the report has errors, else nil.
func (r Report) Err() error {
	if !r.HasErrors() {
		return nil
	}
	r.Sort()
	return &ReportError{Report: r}
}
