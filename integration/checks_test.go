package integration

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/podman"
)

// TestWikiChecks: the wiki declares two application checks (its main page answers 200,
// MariaDB answers a ping). Ready includes them; freezing Apache (SIGSTOP: the unit stays
// active, the page stops answering) makes the wiki degraded, freezing MariaDB makes it failed
// (on_fail: failed), and each thaw brings it back to ready, without a restart.
func TestWikiChecks(t *testing.T) {
	podman.Require(t)
	image := buildWiki(t, podmanEngine, 1)
	c := podmanEngine.run(t, image, podman.RunOptions{Env: wikiEnv})
	wikiReady(t, c, "first start")

	type result struct {
		State  string
		Exit   int `json:"exit_code"`
		Reason string
		Checks []struct{ Name, State, Output string }
	}
	status := func() result {
		out, _, _, err := c.Exec("appagent", "status", "--json")
		var r result
		if err != nil || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		return r
	}
	r := status()
	// The wiki declares three checks: main-page, database and replication (a primary here).
	if r.State != "ready" || len(r.Checks) != 3 || slices.ContainsFunc(r.Checks, func(c struct{ Name, State, Output string }) bool { return c.State != "passing" }) {
		t.Fatalf("ready with every check passing: %+v", r)
	}
	waitFor := func(what, state string, code exitcode.Code, reason string) {
		t.Helper()
		var last result
		wikiWaitFor(t, 90*time.Second, what, func() bool {
			last = status()
			return last.State == state && last.Exit == int(code) && strings.Contains(last.Reason, reason)
		})
		// The probe answers the same, from the agent's last results.
		if _, _, code2, _ := c.Exec("appagent", "status", "--probe=live"); (state == "failed") != (code2 == int(exitcode.Failed)) {
			t.Errorf("%s: the liveness probe exits %d", what, code2)
		}
		t.Logf("%s: %s: %s", what, last.State, last.Reason)
	}
	signal := func(unit, sig string) { c.MustExec("systemctl", "kill", "--kill-whom=all", "--signal="+sig, unit) }

	signal("apache2.service", "SIGSTOP")
	waitFor("Apache frozen", "degraded", exitcode.Degraded, "check main-page is failing")
	signal("apache2.service", "SIGCONT")
	waitFor("Apache thawed", "ready", exitcode.OK, "3 check(s) pass")

	signal("mariadb.service", "SIGSTOP")
	waitFor("MariaDB frozen", "failed", exitcode.Failed, "check database is failing")
	signal("mariadb.service", "SIGCONT")
	waitFor("MariaDB thawed", "ready", exitcode.OK, "3 check(s) pass")

	table := c.MustExec("appagent", "status")
	if !strings.Contains(table, "CHECK") || !strings.Contains(table, "main-page") || !strings.Contains(table, "database") {
		t.Errorf("the status table does not list the checks:\n%s", table)
	}
	journal := c.MustExec("journalctl", "-b", "--no-pager", "-o", "cat", "-u", "appagent.service")
	for _, want := range []string{"check failing", "check=main-page", "check=database", "check passing again"} {
		if !strings.Contains(journal, want) {
			t.Errorf("the agent's journal does not say %q", want)
		}
	}
}
