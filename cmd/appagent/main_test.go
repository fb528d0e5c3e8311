package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/exitcode"
)

// Every command's --help must teach: a usage line, a description, and its exit codes when it
// declares them.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, c := range commands() {
		if c.passthrough {
			continue // its help is appagent-kube's (TestKubeRunsAppagentKube)
		}
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
		// Every command parses flags, so every command can exit 2; a listed command says so.
		if c.summary != "" && !slices.Contains(c.exits, exitcode.Usage) {
			t.Errorf("%s: EXIT STATUS lacks %d (bad command line): %v", c.name, exitcode.Usage, c.exits)
		}
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	if got := dispatch([]string{"statsu"}); got != exitcode.Usage {
		t.Fatalf("exit code %d, want %d", got, exitcode.Usage)
	}
	// 'help NAME' of a command that does not exist is the same mistake, not the command list.
	if got := dispatch([]string{"help", "statsu"}); got != exitcode.Usage {
		t.Fatalf("help statsu: exit code %d, want %d", got, exitcode.Usage)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// A bad command line exits 2, and with --json its answer is one JSON document on stdout,
// wherever --json stands; an argument a command does not take is refused, never ignored.
func TestCommandLineErrors(t *testing.T) {
	cases := []struct {
		cmd      string
		args     []string
		json     bool // stdout must be one JSON document naming the error
		inStderr string
	}{
		{"status", []string{"--bogus"}, false, "flag provided but not defined: -bogus"},
		{"status", []string{"--bogus", "--json"}, true, ""},
		{"status", []string{"--json", "--wait=soon"}, true, ""},
		{"diff", []string{"--json=true", "-x"}, true, ""},
		{"doctor", []string{"-json", "--nope"}, true, ""},
		{"version", []string{"--json", "extra"}, true, ""},
		{"version", []string{"extra"}, false, `unexpected argument "extra"`},
		{"prepare", []string{"/mnt/image"}, false, `unexpected argument "/mnt/image"`},
		{"prepare", []string{"--root", "/nonexistent", "now"}, false, `unexpected argument "now"`},
		{"status", []string{"--json=false", "--bogus"}, false, "-bogus"},
		{"status", []string{"--wait=soon"}, false, `invalid value "soon" for -wait: expected a duration such as 90s or 10m`},
		{"diff", []string{"--json=maybe"}, false, `invalid boolean value "maybe" for -json`},
		{"run", []string{"--log-level=loud"}, false, `--log-level "loud": expected trace, debug, info, warn or error`},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := runCommandTo(find(tc.cmd), tc.args, &out, &errb)
		if code != exitcode.Usage {
			t.Errorf("%s %v: exit %d, want %d", tc.cmd, tc.args, code, exitcode.Usage)
		}
		if tc.json {
			var doc map[string]any
			dec := json.NewDecoder(&out)
			if err := dec.Decode(&doc); err != nil || dec.More() {
				t.Errorf("%s %v: stdout is not one JSON document (%v): %q", tc.cmd, tc.args, err, out.String())
			} else if doc["exit_code"] != float64(exitcode.Usage) || doc["error"] == "" {
				t.Errorf("%s %v: JSON %v", tc.cmd, tc.args, doc)
			}
			if errb.Len() != 0 {
				t.Errorf("%s %v: stderr %q with --json", tc.cmd, tc.args, errb.String())
			}
			continue
		}
		if out.Len() != 0 || !strings.Contains(errb.String(), tc.inStderr) {
			t.Errorf("%s %v: stdout %q, stderr %q; want %q on stderr", tc.cmd, tc.args, out.String(), errb.String(), tc.inStderr)
		}
	}
}

func TestJoinRoot(t *testing.T) {
	for _, tc := range []struct{ root, p, want string }{
		{"/", "/etc/appagent/appagent.yaml", "/etc/appagent/appagent.yaml"},
		{"", "x.yaml", "x.yaml"},
		{"/img", "/etc/appagent/appagent.yaml", "/img/etc/appagent/appagent.yaml"},
		{"/img/", "/etc/appagent/appagent.yaml", "/img/etc/appagent/appagent.yaml"},
		{"/img", "etc/appagent/appagent.yaml", "/img/etc/appagent/appagent.yaml"}, // was /imgetc/...
	} {
		if got := joinRoot(tc.root, tc.p); got != tc.want {
			t.Errorf("joinRoot(%q, %q) = %q, want %q", tc.root, tc.p, got, tc.want)
		}
	}
}

// The table's "for `status`" words are in status's help only (issue 13, item 14).
func TestHelpExitMeaningPerCommand(t *testing.T) {
	for _, name := range []string{"status", "diff", "prepare"} {
		var b bytes.Buffer
		printHelp(&b, find(name))
		has := strings.Contains(b.String(), "the container is ready")
		if has != (name == "status") {
			t.Errorf("%s --help: 'the container is ready' present=%v:\n%s", name, has, b.String())
		}
		if strings.Contains(b.String(), "for `status`") {
			t.Errorf("%s --help still says \"for `status`\"", name)
		}
	}
}
