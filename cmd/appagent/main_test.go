package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/exitcode"
)

// Every command's --help must teach: a usage line, a description, and its exit codes when it
// declares them.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, c := range commands() {
		var b bytes.Buffer
		printHelp(&b, c)
		out := b.String()
		if !strings.HasPrefix(out, "Usage: appagent "+c.name) {
			t.Errorf("%s: help starts with %q", c.name, firstLine(out))
		}
		if len(strings.TrimSpace(c.help)) < 40 {
			t.Errorf("%s: help text too short to teach anything: %q", c.name, c.help)
		}
		if len(c.exits) > 0 && !strings.Contains(out, "EXIT STATUS") {
			t.Errorf("%s: exit codes declared but not printed", c.name)
		}
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	if got := dispatch([]string{"statsu"}); got != exitcode.Usage {
		t.Fatalf("exit code %d, want %d", got, exitcode.Usage)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
