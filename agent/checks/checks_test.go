package checks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/internal/syncbuf"
)

func check(start, retries int) config.Check {
	return config.Check{Name: "c", Command: "true", Retries: retries, OnFail: "degraded",
		StartPeriod: config.Duration{Duration: time.Duration(start) * time.Second}}
}

func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		at      int
		ok      bool
		state   string
		changed bool
	}
	for name, tc := range map[string]struct {
		c     config.Check
		steps []step
	}{
		"failures in the start period do not count": {check(60, 2), []step{
			{10, false, Pending, false}, {20, false, Pending, false}, {30, true, Passing, false}}},
		"after the start period they do": {check(60, 2), []step{
			{70, false, Pending, false}, {80, false, Failing, true}, {90, false, Failing, false}, {100, true, Passing, true}}},
		"once passed, failures count at once": {check(60, 3), []step{
			{5, true, Passing, false}, {10, false, Passing, false}, {15, false, Passing, false}, {20, false, Failing, true}}},
		"a pass resets the count": {check(0, 2), []step{
			{1, false, Pending, false}, {2, true, Passing, false}, {3, false, Passing, false}, {4, true, Passing, false}, {5, false, Passing, false}}},
	} {
		k := newTracker(tc.c, t0)
		for i, s := range tc.steps {
			changed := k.record(at(s.at), s.ok, "out")
			if k.res.State != s.state || changed != s.changed {
				t.Errorf("%s: step %d: state %s changed %v, want %s %v", name, i, k.res.State, changed, s.state, s.changed)
			}
		}
	}
}

func TestRunKinds(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		w.WriteHeader(int(code.Load()))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	to := config.Duration{Duration: 2 * time.Second}
	for _, tc := range []struct {
		c    config.Check
		ok   bool
		want string
	}{
		{config.Check{HTTP: srv.URL + "/", Status: []int{200}, Timeout: to}, true, "HTTP 200"},
		{config.Check{HTTP: srv.URL + "/redirect", Status: []int{200}, Timeout: to}, false, "HTTP 302, want 200"},
		{config.Check{HTTP: srv.URL + "/redirect", Status: []int{200, 302}, Timeout: to}, true, "HTTP 302"},
		{config.Check{TCP: ln.Addr().String(), Timeout: to}, true, "connected"},
		{config.Check{TCP: closedAddr, Timeout: to}, false, "connection refused"},
		{config.Check{Command: "echo fine", Timeout: to}, true, "fine"},
		{config.Check{Command: "echo one; echo 'broken\tline' >&2; exit 3", Timeout: to}, false, "exit status 3: broken line"},
		{config.Check{Command: "sleep 5", Timeout: config.Duration{Duration: 200 * time.Millisecond}}, false, "no answer within 200ms"},
	} {
		ok, out := run(context.Background(), tc.c)
		if ok != tc.ok || !strings.Contains(out, tc.want) {
			t.Errorf("%+v: %v %q, want %v %q", tc.c, ok, out, tc.ok, tc.want)
		}
	}
	code.Store(500)
	if ok, out := run(context.Background(), config.Check{HTTP: srv.URL, Status: []int{200}, Timeout: to}); ok || out != "HTTP 500, want 200" {
		t.Errorf("500: %v %q", ok, out)
	}
}

// The task publishes every result, turns a check failing and passing again as the server
// answers, and runs the check hook on each transition.
func TestTaskTransitions(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(code.Load())) }))
	defer srv.Close()
	dir := t.TempDir()
	hookOut := filepath.Join(dir, "hook.log")
	decl := filepath.Join(dir, "appagent.yaml")
	os.WriteFile(decl, []byte(`volume: {path: /data}
units: [web.service]
checks:
  - {name: web, unit: web.service, http: "`+srv.URL+`", interval: 1s, timeout: 1s, retries: 2, on_fail: failed}
hooks:
  check: /bin/sh -c 'echo "$APPAGENT_CHECK $APPAGENT_CHECK_STATE $APPAGENT_CHECK_OUTPUT" >>`+hookOut+`'
`), 0o644)
	results := filepath.Join(dir, "checks.json")
	var logs syncbuf.Buffer
	state := startOne(t, &Task{ConfigPath: decl, ResultsFile: results}, hclog.New(&hclog.LoggerOptions{Output: &logs}))
	waitState := func(want string) Result {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if r := state(); r.State == want {
				return r
			}
		}
		t.Fatalf("check never %s: %+v\n%s", want, state(), logs.String())
		return Result{}
	}
	r := waitState(Passing)
	if r.Unit != "web.service" || r.Kind != "http" || r.OnFail != "failed" || r.Output != "HTTP 200" {
		t.Errorf("result: %+v", r)
	}
	code.Store(503)
	r = waitState(Failing)
	if r.Failures < 2 || r.Output != "HTTP 503, want 200" {
		t.Errorf("failing: %+v", r)
	}
	code.Store(200)
	waitState(Passing)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(hookOut); strings.Count(string(b), "\n") >= 2 {
			break
		}
	}
	b, _ := os.ReadFile(hookOut)
	if got := string(b); got != "web failing HTTP 503, want 200\nweb passing HTTP 200\n" {
		t.Errorf("the check hook heard:\n%s", got)
	}
	if !strings.Contains(logs.String(), "check failing") || !strings.Contains(logs.String(), "check passing again") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// startOne starts task, whose declaration has one check, until the test ends, and returns a
// reader of that check's published result.
func startOne(t *testing.T, task *Task, log hclog.Logger) func() Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, err := task.Start(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return func() Result {
		f, err := Read(task.ResultsFile)
		if err != nil || f == nil || len(f.Checks) != 1 {
			t.Fatalf("results: %v %+v", err, f)
		}
		return f.Checks[0]
	}
}

// TestHTTPCheckLeavesNoConnection: an HTTP check asks for "Connection: close" and keeps no
// idle connection, so no server worker is held between checks (Apache's graceful stop waited
// for one, and systemd had to kill it).
func TestHTTPCheckLeavesNoConnection(t *testing.T) {
	var open atomic.Int32
	var sawClose atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Close || r.Header.Get("Connection") == "close" {
			sawClose.Store(true)
		}
		w.Write([]byte(strings.Repeat("x", 20000)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	for i := 0; i < 3; i++ {
		if ok, out := run(context.Background(), config.Check{HTTP: srv.URL, Status: []int{200}, Timeout: config.Duration{Duration: 2 * time.Second}}); !ok {
			t.Fatalf("check: %s", out)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 || !sawClose.Load() {
		t.Errorf("%d connections still open after the checks (Connection: close asked: %v)", n, sawClose.Load())
	}
}

// TestTaskEndsWhenStopping: once the container is stopping, the checks end: no more requests
// reach the application, no failure is reported and the check hook does not run.
func TestTaskEndsWhenStopping(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	decl := filepath.Join(dir, "appagent.yaml")
	os.WriteFile(decl, []byte(`volume: {path: /data}
units: [web.service]
checks:
  - {name: web, unit: web.service, http: "`+srv.URL+`", interval: 1s, timeout: 1s}
`), 0o644)
	var stopping atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, err := (&Task{ConfigPath: decl, ResultsFile: filepath.Join(dir, "checks.json"), Stopping: stopping.Load}).Start(ctx, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); hits.Load() < 1 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	stopping.Store(true)
	time.Sleep(1200 * time.Millisecond) // the run already waiting for its interval asks, and ends
	n := hits.Load()
	time.Sleep(1500 * time.Millisecond)
	if hits.Load() != n || n == 0 {
		t.Errorf("checks still reach the application while the container stops: %d, then %d", n, hits.Load())
	}
	select {
	case <-done:
		t.Error("the task ended before the agent's stop (that would stop the agent)")
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("the task did not end at the agent's stop")
	}
}

// A command check sees what the units see: the parameters' and the role's environment files,
// later files winning, and nothing of the agent's own environment.
func TestCommandEnv(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "params.env"), filepath.Join(dir, "role.env")
	if err := os.WriteFile(a, []byte("WIKI_NAME=\"My wiki\"\nAPPAGENT_ROLE=\"wrong\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("# comment\nAPPAGENT_ROLE=\"replica\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := unitFiles
	unitFiles = []string{a, filepath.Join(dir, "missing.env"), b}
	defer func() { unitFiles = old }()
	t.Setenv("AGENT_ONLY", "x")
	ok, out := run(context.Background(), config.Check{Name: "env", Command: `printf '%s|%s|%s' "$WIKI_NAME" "$APPAGENT_ROLE" "${AGENT_ONLY:-unset}"`, Timeout: config.Duration{Duration: 5 * time.Second}})
	if !ok || out != "My wiki|replica|unset" {
		t.Errorf("check saw %q (ok %v), want My wiki|replica|unset", out, ok)
	}
}
