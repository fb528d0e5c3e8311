package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/testing/docker"
)

// examples/wiki/compose.yaml, run as its README says (`docker-compose up -d`, then ready),
// with the image the Docker harness built from the example (WIKI_IMAGE) and a loopback port.
func TestWikiCompose(t *testing.T) {
	docker.Require(t)
	img := buildWiki(t, dockerEngine, 1)
	file, err := filepath.Abs(filepath.Join(wikiDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := docker.NewCompose(t, file, []string{
		"WIKI_IMAGE=" + img, "WIKI_PORT=127.0.0.1:18087", "WIKI_NAME=" + wikiName,
		"WIKI_ADMIN_PASSWORD=" + wikiPassword, "WIKI_ADMIN_EMAIL=" + wikiEmail,
	}, "wiki")
	c.Must("up", "-d", "--no-build")
	out, errs, code, err := c.Exec("wiki", "appagent", "status", "--wait=5m")
	if err != nil || code != 0 {
		t.Fatalf("appagent status --wait=5m in the compose service: exit %d %v\n%s%s\nlogs:\n%s", code, err, out, errs, wikiTail(c.Logs("wiki"), 40))
	}
	page, _, _, _ := c.Exec("wiki", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", wikiMain)
	if strings.TrimSpace(page) != "200" {
		t.Errorf("GET %s in the compose service: HTTP %q, want 200", wikiMain, page)
	}
	if logs := c.Logs("wiki"); !strings.Contains(logs, "mariadbd") {
		t.Errorf("docker-compose logs lacks the journal (MariaDB's lines):\n%s", wikiTail(logs, 30))
	}
	if state, _, _, _ := c.Exec("wiki", "systemctl", "is-system-running"); strings.TrimSpace(state) != "running" {
		t.Errorf("systemd in the compose service is %q, want running", strings.TrimSpace(state))
	}
	c.Must("stop")
}
