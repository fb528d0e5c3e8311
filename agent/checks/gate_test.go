package checks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
)

func TestAdmit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	unitCheck := check(60, 2)
	unitCheck.Unit = "db.service"
	type step struct {
		at      int
		gate    Gate
		admit   bool
		ok      bool   // the run's outcome, when admitted
		state   string // after the step
		started int    // the start period's start after the step
	}
	for name, tc := range map[string]struct {
		c     config.Check
		steps []step
	}{
		"a unit check waits for its unit, then counts from the unit's start": {unitCheck, []step{
			{100, Gate{Booting: true}, false, false, Pending, 0},
			{400, Gate{Booting: true}, false, false, Pending, 0},
			{410, Gate{Booting: true, UnitActive: at(405)}, true, false, Pending, 405},
			{460, Gate{UnitActive: at(405)}, true, false, Pending, 405},
			{470, Gate{UnitActive: at(405)}, true, false, Pending, 405},
			{480, Gate{UnitActive: at(405)}, true, false, Failing, 405}}},
		"a unit restarted before its first pass gets a new start period": {unitCheck, []step{
			{10, Gate{UnitActive: at(5)}, true, false, Pending, 5},
			{100, Gate{UnitActive: at(90)}, true, false, Pending, 90}}},
		"a unit that started before the agent counts from the agent's start": {unitCheck, []step{
			{10, Gate{UnitActive: t0.Add(-time.Hour)}, true, true, Passing, 0}}},
		"once passed, a check runs whatever the gate says": {unitCheck, []step{
			{10, Gate{UnitActive: at(5)}, true, true, Passing, 5},
			{20, Gate{}, true, false, Passing, 5},
			{30, Gate{}, true, false, Failing, 5}}},
		"a check of no unit waits for the container's start to finish": {check(60, 2), []step{
			{100, Gate{Booting: true}, false, false, Pending, 0},
			{300, Gate{}, true, false, Pending, 300},
			{370, Gate{}, true, false, Pending, 300},
			{380, Gate{}, true, false, Failing, 300}}},
	} {
		k := newTracker(tc.c, t0)
		for i, s := range tc.steps {
			admitted := k.admit(at(s.at), s.gate)
			if admitted {
				k.record(at(s.at), s.ok, "out")
			}
			if admitted != s.admit || k.res.State != s.state || !k.started.Equal(at(s.started)) {
				t.Errorf("%s: step %d: admitted %v, state %s, start period from %v; want %v, %s, %v",
					name, i, admitted, k.res.State, k.started.Sub(t0), s.admit, s.state, time.Duration(s.started)*time.Second)
			}
			if !admitted && k.res.Output == "" {
				t.Errorf("%s: step %d: a waiting check says nothing of what it waits for", name, i)
			}
		}
	}
}

// TestTaskWaitsForItsUnit: while the gate says the check's unit has not started, the check
// sends nothing to the application and stays pending, saying what it waits for; once the
// unit is up, its failures count after the start period from the unit's start.
func TestTaskWaitsForItsUnit(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	decl := filepath.Join(dir, "appagent.yaml")
	os.WriteFile(decl, []byte(`volume: {path: /data}
units: [web.service]
checks:
  - {name: web, unit: web.service, http: "`+srv.URL+`", interval: 1s, timeout: 1s, retries: 1, start_period: 2s}
`), 0o644)
	results := filepath.Join(dir, "checks.json")
	var mu sync.Mutex
	var active time.Time
	gate := func(_ context.Context, unit string) (Gate, error) {
		mu.Lock()
		defer mu.Unlock()
		if unit != "web.service" {
			t.Errorf("gate asked of %q", unit)
		}
		return Gate{UnitActive: active}, nil
	}
	result := startOne(t, &Task{ConfigPath: decl, ResultsFile: results, Gate: gate}, hclog.NewNullLogger())
	time.Sleep(2500 * time.Millisecond) // past the start period, counted from the agent's start
	if r := result(); hits.Load() != 0 || r.State != Pending || r.Output != "waiting for web.service to start" {
		t.Fatalf("before its unit started: %d requests, result %+v", hits.Load(), r)
	}
	mu.Lock()
	active = time.Now()
	mu.Unlock()
	time.Sleep(1500 * time.Millisecond) // one interval for the gate to open, one run
	if r := result(); hits.Load() == 0 || r.State != Pending {
		t.Fatalf("within the start period from the unit's start: %d requests, result %+v", hits.Load(), r)
	}
	for deadline := time.Now().Add(5 * time.Second); result().State != Failing; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never failing after the start period: %+v", result())
		}
	}
}
