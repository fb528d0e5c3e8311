package exitcode

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/internal/goldenfile"
)

// docPath is the generated documentation of the table.
var docPath = filepath.Join("..", "..", "docs", "exit-codes.md")

// ExitCodesDoc is docs/exit-codes.md: prose around Markdown().
func exitCodesDoc() string {
	return `# Exit codes

<!-- Generated from agent/exitcode (Table) by: go test ./agent/exitcode -update
     Do not edit by hand; TestExitCodesDocIsCurrent fails when this file is stale. -->

One table for every appagent command and for the container itself. A code is never reused
for another meaning: probes, orchestrators and scripts depend on them.

- ` + "`appagent init`" + ` (the container's entrypoint) exits with 3, 10-14, 18 or 19 before systemd
  starts (2 for a bad flag, 1 for anything unforeseen); the message on the container's stdout
  (` + "`podman logs`" + `) says what and how to fix it.
- Once systemd runs, a failed hook or essential unit makes the container exit with 15, 16 or 17
  (or the code the image declares for that hook or unit: ` + "`exit_code`" + ` in appagent.yaml),
  through systemd's ` + "`FailureAction=exit`" + ` and ` + "`FailureActionExitStatus=`" + `. One line
  on the container's stdout names the unit, how it failed and the code, followed by its last
  log lines (see docs/parameters.md, "When a hook or essential unit fails").
- ` + "`appagent status`" + ` exits with 0 or 20-23 so that it can serve as a HEALTHCHECK or a
  Kubernetes probe.

` + Markdown()
}

func TestExitCodesDocIsCurrent(t *testing.T) {
	goldenfile.CheckPath(t, docPath, []byte(exitCodesDoc()))
}

// Markdown renders the table for docs/exit-codes.md (only the docs test needs it).
func Markdown() string {
	var b strings.Builder
	b.WriteString("| code | name | meaning |\n|---:|---|---|\n")
	for _, e := range Table {
		fmt.Fprintf(&b, "| %d | `%s` | %s |\n", e.Code, e.Name, e.Meaning)
	}
	return b.String()
}
