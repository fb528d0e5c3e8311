package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/podman"
)

// The example wiki as a primary and a replica (issue 16, docs/replication.md): two podman
// containers on a network the test makes (internal: its own subnet, no route out), each on
// its own volume. The replica's first start clones the primary's database (the join hook) and
// follows it; edits on the primary reach the replica's database; re-creating either
// container, and stopping and starting them in either order, keeps it so. The primary's
// volume is refused as a replica's.
func TestWikiReplication(t *testing.T) {
	rt := podmanEngine
	rt.require(t)
	img := buildWiki(t, rt, 1)
	tools := wikiTools(t)
	network := podman.NewNetwork(t)
	pvol, rvol := rt.newVolume(t), rt.newVolume(t)
	const primaryName = "wiki-primary"
	repl := "REPLICATION_PASSWORD=appagent-Repl-pw-9"
	run := func(vol, alias string, env ...string) *container {
		return rt.run(t, img, podman.RunOptions{
			Env: append(append(append([]string{}, wikiEnv...), repl), env...), Volume: vol,
			Args: []string{"--network", network, "--network-alias", alias, "--hostname", alias, "-v", tools + ":/opt/wikitest:ro"},
		})
	}
	primary := func() *container { return run(pvol, primaryName) }
	replica := func() *container {
		c := run(rvol, "wiki-replica", "WIKI_ROLE=replica", "WIKI_PRIMARY="+primaryName)
		t.Cleanup(func() { // before the container's removal: what its hooks said, on failure
			if t.Failed() {
				var lines []string
				for _, l := range strings.Split(c.Logs(), "\n") {
					if strings.Contains(l, "join") || strings.Contains(l, "configure[") || strings.Contains(l, "mariadb") {
						lines = append(lines, l)
					}
				}
				t.Logf("the replica's hook and MariaDB lines:\n%s", wikiTail(strings.Join(lines, "\n"), 60))
			}
		})
		return c
	}
	edit := 0
	// write makes an edit on the primary's wiki and returns its marker.
	write := func(p *container) string {
		edit++
		marker := fmt.Sprintf("replicated-edit-%d", edit)
		p.MustExec("/opt/wikitest/edit-page.sh", wikiAdmin, wikiPassword, wikiPage, wikiText+" "+marker)
		return marker
	}
	// arrives waits until the replica's database holds marker, then reads it through the
	// replica's (read-only) wiki too.
	arrives := func(r *container, marker, when string) {
		t.Helper()
		q := fmt.Sprintf("SELECT COUNT(*) FROM wiki.text WHERE old_text LIKE '%%%s%%'", marker)
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _, code, _ := r.Exec("mariadb", "-N", "-B", "-e", q)
			if code == 0 && strings.TrimSpace(out) != "0" {
				break
			}
			if time.Now().After(deadline) {
				st, _, _, _ := r.Exec("mariadb", "-e", "SHOW SLAVE STATUS\\G")
				t.Fatalf("%s: the edit %s did not reach the replica's database in 60 s; its replication:\n%s", when, marker, st)
			}
			time.Sleep(time.Second)
		}
		if out := r.MustExec("curl", "-sS", wikiPageURL("raw")); !strings.Contains(out, marker) {
			t.Errorf("%s: the replica's wiki does not serve the edit %s; got:\n%.300s", when, marker, out)
		}
		t.Logf("%s: the edit %s reached the replica", when, marker)
	}
	replicationCheck := func(r *container) string {
		t.Helper()
		out, _, _, err := r.Exec("appagent", "status", "--json") // exits 20 or 21 while not ready
		if err != nil {
			t.Fatalf("appagent status --json: %v", err)
		}
		var st struct {
			Checks []struct{ Name, State, Output string } `json:"checks"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("appagent status --json: %v\n%s", err, out)
		}
		for _, c := range st.Checks {
			if c.Name == "replication" {
				return c.State + ": " + c.Output
			}
		}
		t.Fatalf("appagent status --json has no replication check:\n%s", out)
		return ""
	}

	// stop stops the containers in the order given (each exits 0) and removes them.
	stop := func(cs ...*container) {
		t.Helper()
		for _, c := range cs {
			wikiStop(t, c)
		}
		for _, c := range cs {
			c.Remove()
		}
	}

	p := primary()
	wikiReady(t, p, "the primary's first boot")
	first := write(p)
	r := replica()
	wikiReady(t, r, "the replica's first boot")
	if out := r.MustExec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-join.service"); !strings.Contains(out, "cloning the wiki's database from "+primaryName) || !strings.Contains(out, "joined:") {
		t.Errorf("the join hook did not clone the primary; its journal:\n%s", out)
	}
	if out, _, _, _ := r.Exec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-configure.service"); strings.Contains(out, "running MediaWiki's installer") {
		t.Errorf("the replica ran MediaWiki's installer:\n%s", out)
	}
	arrives(r, first, "the clone")
	arrives(r, write(p), "an edit after the join")
	if st := replicationCheck(r); !strings.HasPrefix(st, "passing: replica of "+primaryName+": IO Yes, SQL Yes") {
		t.Errorf("the replica's status shows %q, want its replication passing with both threads", st)
	}
	// The primary's check runs every 10 s: its last result may be from before the replica came.
	var pst string
	wikiWaitFor(t, 45*time.Second, "the primary's status to count its replica", func() bool {
		pst = replicationCheck(p)
		return strings.Contains(pst, "1 replica(s) following")
	})
	if !strings.HasPrefix(pst, "passing: primary: GTID ") {
		t.Errorf("the primary's status shows %q", pst)
	}
	if out := r.MustExec("appagent", "status"); !strings.Contains(out, "IO Yes, SQL Yes") {
		t.Errorf("appagent status (the table) does not show the replication state:\n%s", out)
	}

	// The replica re-created on its volume: no second clone, and it follows on.
	stop(r)
	r = replica()
	wikiReady(t, r, "the re-created replica")
	if res := strings.TrimSpace(r.MustExec("systemctl", "show", "-p", "ConditionResult", "--value", "appagent-join.service")); res != "no" {
		t.Errorf("the join hook's unit ran again on a joined volume (ConditionResult=%s)", res)
	}
	arrives(r, write(p), "after re-creating the replica")

	// The primary re-created on its volume: the replica reconnects by itself.
	stop(p)
	p = primary()
	wikiReady(t, p, "the re-created primary")
	arrives(r, write(p), "after re-creating the primary")

	// Both stopped; the replica starts first and waits (degraded, not failed), then the primary.
	stop(r, p)
	r = replica()
	if _, err := r.WaitRunning(5 * time.Minute); err != nil {
		t.Fatal(err)
	}
	wikiWaitFor(t, 3*time.Minute, "the replica without its primary to say so", func() bool {
		return strings.HasPrefix(replicationCheck(r), "failing")
	})
	if _, _, code, _ := r.Exec("appagent", "status"); code != int(exitcode.Degraded) {
		t.Errorf("the replica without its primary: status exit %d, want %d (degraded)", code, exitcode.Degraded)
	}
	p = primary()
	wikiReady(t, p, "the primary started after its replica")
	wikiReady(t, r, "the replica once its primary is back")
	arrives(r, write(p), "replica started first")

	// And the other order: the primary stopped first and started first.
	stop(p, r)
	p = primary()
	wikiReady(t, p, "the primary started first")
	r = replica()
	wikiReady(t, r, "the replica started after its primary")
	arrives(r, write(p), "primary started first")
	stop(r, p)

	// The primary's volume is never joined over.
	c := run(pvol, "wiki-wrong", "WIKI_ROLE=replica", "WIKI_PRIMARY="+primaryName)
	code, err := c.Wait(2 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code != int(exitcode.RoleRefused) || !strings.Contains(c.Logs(), "holds a primary's data") {
		t.Errorf("the primary's volume started as a replica: exit %d, want %d; logs:\n%s", code, exitcode.RoleRefused, wikiTail(c.Logs(), 15))
	}
}
