package failure

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/units"
)

func TestFailureLine(t *testing.T) {
	for _, tt := range []struct {
		f    Report
		want string
	}{
		{Report{Unit: "mariadb.service", Result: "exit-code", Code: "exited", Status: "1", ExitCode: 17},
			"appagent: mariadb.service failed: exit status 1; the container exits with code 17"},
		{Report{Unit: units.ConfigureUnit, Result: "exit-code", Code: "exited", Status: "3", ExitCode: 15},
			"appagent: appagent-configure.service (the image's configure hook) failed: exit status 3; the container exits with code 15"},
		{Report{Unit: "web.service", Result: "signal", Code: "killed", Status: "KILL", ExitCode: 17, Restarts: true},
			"appagent: web.service failed: killed by signal KILL; systemd restarts it, and the container exits with code 17 if it keeps failing"},
		{Report{Unit: "web.service", Result: "core-dump", Code: "dumped", Status: "SEGV", ExitCode: 17},
			"appagent: web.service failed: dumped core (signal SEGV); the container exits with code 17"},
		{Report{Unit: "web.service", Result: "timeout", ExitCode: 17},
			"appagent: web.service failed: timed out; the container exits with code 17"},
		{Report{Unit: "web.service", Result: "resources", ExitCode: 17},
			"appagent: web.service failed: resources; the container exits with code 17"},
		{Report{Unit: "web.service", Result: "exit-code", Code: "exited", Status: "243", ExitCode: 17},
			"appagent: web.service failed: exit status 243 (CREDENTIALS: a credential file is missing; did appagent.service start and write /run/appagent?); the container exits with code 17"},
		{Report{Unit: "web.service", Result: "exit-code", Code: "exited", Status: "203", ExitCode: 17},
			"appagent: web.service failed: exit status 203 (EXEC: the command could not be run; check its path and that it is executable); the container exits with code 17"},
	} {
		if got := tt.f.Line(); got != tt.want {
			t.Errorf("Line() =\n %s\nwant\n %s", got, tt.want)
		}
	}
	f := Report{Unit: "a.service", Result: "exit-code", Code: "exited", Status: "1", ExitCode: 17, Log: []string{"one", "two"}}
	want := "appagent: a.service failed: exit status 1; the container exits with code 17\n  last 2 log lines of a.service:\n    one\n    two"
	if got := f.Message(); got != want {
		t.Errorf("Message() = %q", got)
	}
}

// After a clean stop ExecStopPost= runs too; the report must stay silent.
func TestReportFailureSilentOnSuccess(t *testing.T) {
	var out strings.Builder
	env := map[string]string{"SERVICE_RESULT": "success", "EXIT_CODE": "exited", "EXIT_STATUS": "0"}
	if err := Run(context.Background(), Options{Unit: "a.service", ExitCode: 17, Env: func(k string) string { return env[k] }, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("reported a success: %q", out.String())
	}
}

// The last lines, and before them the run's error lines a chatty unit pushed out.
func TestPickLines(t *testing.T) {
	var all []logLine
	for i := 1; i <= 50; i++ {
		p := 6
		if i == 3 || i == 7 {
			p = 3
		}
		all = append(all, logLine{Message: fmt.Sprintf("l%d", i), Priority: p})
	}
	got := strings.Join(pickLines(all, 5, 10), " ")
	if want := "… l3 … l7 … l46 l47 l48 l49 l50"; got != want {
		t.Errorf("pickLines = %q, want %q", got, want)
	}
	if got := strings.Join(pickLines(all[:4], 5, 10), " "); got != "l1 l2 l3 l4" {
		t.Errorf("fewer lines than the tail: %q", got)
	}
	if got := strings.Join(pickLines(all, 5, 1), " "); got != "… l7 … l46 l47 l48 l49 l50" {
		t.Errorf("error lines bounded: %q", got)
	}
	f := Report{Unit: "a.service", Result: "exit-code", Code: "exited", Status: "1", ExitCode: 17, Log: pickLines(all, 2, 10)}
	if m := f.Message(); !strings.Contains(m, "error lines and last log lines of a.service:") {
		t.Errorf("message: %s", m)
	}
}

func TestUnitTypeAndShowValue(t *testing.T) {
	for unit, want := range map[string]string{"apache2.service": "Service", "backup.timer": "Timer", "x@y.socket": "Socket", "data.mount": "Mount", "odd": "Unit", "odd.": "Unit"} {
		if got := unitType(unit); got != want {
			t.Errorf("unitType(%q) = %q, want %q", unit, got, want)
		}
	}
	type pair struct{ A, B string }
	for _, c := range []struct {
		v    any
		want string
	}{{true, "yes"}, {false, "no"}, {"on-failure", "on-failure"}, {[]string{"a", "b"}, "a b"}, {[]pair{{"x", "y"}}, "set"}, {[]pair{}, ""}, {uint64(7), "7"}} {
		if got := units.ShowValue(c.v); got != c.want {
			t.Errorf("units.ShowValue(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
	// Without systemd the report's questions get empty answers, not a failure.
	var q *unitQuery
	if q.prop(t.Context(), "x.service", "Restart") != "" || q.systemState(t.Context()) != "" {
		t.Errorf("a nil query answered")
	}
	q.close()
}

// TestNamespaceFailureExplained: a 226 exit says what needs the namespace and how to fix it.
func TestNamespaceFailureExplained(t *testing.T) {
	f := Report{Unit: "app.service", Result: "exit-code", Code: "exited", Status: "226", ExitCode: 17,
		Why: units.NamespaceWhy([]string{"BindPaths=/srv:/srv:rbind", "DynamicUser=yes"}), Log: []string{"app.service: Failed to set up mount namespacing: Permission denied"}}
	m := f.Message()
	for _, want := range []string{
		"app.service failed: exit status 226 (NAMESPACE",
		"\n  why: systemd could not set up the mount namespace that BindPaths=/srv:/srv:rbind, DynamicUser=yes needs",
		"--cap-add SYS_ADMIN", "Sandboxed units",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("report lacks %q:\n%s", want, m)
		}
	}
	if strings.Index(m, "why:") > strings.Index(m, "log lines") {
		t.Errorf("the explanation must come before the log lines:\n%s", m)
	}
}

func TestConfinedWhy(t *testing.T) {
	// As D-Bus gives ExecStart= (a(sasbttttuii)).
	confined := execArgv([][]any{{"/usr/bin/appagent", []string{"/usr/bin/appagent", "confine", "--write", "/data", "--", "/usr/libexec/app/configure"}, false, uint64(0)}})
	plain := execArgv([][]any{{"/usr/libexec/app/configure", []string{"/usr/libexec/app/configure"}, false}})
	denied := []string{"configure: writing /etc/app.conf", "sed: couldn't open temporary file /etc/sedX1: Permission denied"}
	for _, tc := range []struct {
		name string
		exec []string
		log  []string
		want string
	}{
		{"confined and denied", confined, denied, "hooks.configure.writes"},
		{"unconfined", plain, denied, ""},
		{"confined, another failure", confined, []string{"configure: cannot reach the database"}, ""},
		{"no ExecStart read", nil, denied, ""},
	} {
		got := ConfinedWhy("configure", tc.exec, tc.log)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want one with %q", tc.name, got, tc.want)
		}
	}
}
