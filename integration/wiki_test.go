package integration

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/docker"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// The example wiki (examples/wiki, issue 7) run the way its README tells users to: built with
// podman from its own Containerfile, run with parameters on a named volume, re-created,
// upgraded to a second image, backed up and restored, with a failure mail caught by an SMTP
// sink inside the container's own network namespace. The whole flow runs twice: with a
// writable root and with --read-only.

// wikiDir is the example image, relative to this package.
const wikiDir = "../examples/wiki"

const (
	wikiName     = "Test Wiki"
	wikiAdmin    = "Admin"
	wikiPassword = "appagent-Test-pw-7"
	wikiEmail    = "admin@example.org"
	// wikiMain is the main page; with an explicit title MediaWiki answers 200, not a redirect
	// to $wgServer (which is the demo's published port, not reachable inside the container).
	wikiMain = "http://127.0.0.1/mediawiki/index.php?title=Main_Page"
	wikiPage = "Appagent_test_page"
	wikiText = "This page was written by integration/wiki_test.go through the MediaWiki API."
)

var wikiEnv = []string{
	"WIKI_NAME=" + wikiName,
	"WIKI_ADMIN_USER=" + wikiAdmin,
	"WIKI_ADMIN_PASSWORD=" + wikiPassword,
	"WIKI_ADMIN_EMAIL=" + wikiEmail,
	"WIKI_SERVER_URL=http://localhost:8080",
	"SMTP_HOST=127.0.0.1",
	"SMTP_PORT=2525",
	"BACKUP_KEEP=3",
}

// wikiContext reads the example's build context: the Containerfile text, the other files
// (everything but tests, test data and the copied appagent binary) and the packages its
// Containerfile installs, so the test's base image has them and the build stays offline.
func wikiContext(t *testing.T) (containerfile string, files map[string]string, pkgs []string) {
	t.Helper()
	files = map[string]string{}
	err := filepath.WalkDir(wikiDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(wikiDir, p)
		if d.IsDir() {
			if rel == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "appagent" || rel == ".gitignore" || strings.HasSuffix(rel, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", wikiDir, err)
	}
	containerfile = files["Containerfile"]
	delete(files, "Containerfile")
	m := regexp.MustCompile(`(?m)^ARG PACKAGES="([^"]+)"`).FindStringSubmatch(containerfile)
	if m == nil {
		t.Fatalf("%s/Containerfile has no ARG PACKAGES=\"...\" line", wikiDir)
	}
	for _, p := range strings.Fields(m[1]) {
		if p != "systemd" && p != "systemd-sysv" && p != "dbus" { // in every base already
			pkgs = append(pkgs, p)
		}
	}
	return containerfile, files, pkgs
}

// buildWiki builds the example image; version 2 is the same image with a changed
// configuration file (the Apache site) and a new volume path, as an image upgrade would be.
func buildWiki(t *testing.T, rt engineRuntime, version int) string {
	t.Helper()
	cf, files, pkgs := wikiContext(t)
	if version == 2 {
		files["config/apache-wiki.conf"] += "\n# v2: a changed configuration file\nServerSignature Off\n"
		yaml := files["appagent.yaml"]
		files["appagent.yaml"] = strings.Replace(yaml, "    - /root/.ssh", "    - /var/lib/wiki-v2\n    - /root/.ssh", 1)
		cf = strings.Replace(cf, "COPY appagent /usr/bin/appagent",
			"RUN mkdir -p /var/lib/wiki-v2 && echo v2 >/var/lib/wiki-v2/added\nCOPY appagent /usr/bin/appagent", 1)
		if files["appagent.yaml"] == yaml || !strings.Contains(cf, "wiki-v2") {
			t.Fatal("could not make version 2 of the wiki image: appagent.yaml or the Containerfile changed shape")
		}
	}
	return rt.build(t, podman.BuildOptions{Containerfile: cf, Files: files, Packages: pkgs})
}

// wikiTools is a host directory bound read-only at /opt/wikitest: the SMTP sink (built here,
// static), the API client script and a picture to upload.
func wikiTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	mod, err := nspawn.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "build", "-o", filepath.Join(dir, "smtpsink"), "./examples/wiki/testdata/smtpsink")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the SMTP sink: %v\n%s", err, out)
	}
	for _, f := range []string{"edit-page.sh", "pixel.png"} {
		b, err := os.ReadFile(filepath.Join(wikiDir, "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWiki(t *testing.T) { testWiki(t, podmanEngine) }

// TestWikiDocker is the same flow on Docker Engine, run with exactly the flags
// docs/runtimes.md gives for docker run (testing/docker.RunFlags).
func TestWikiDocker(t *testing.T) { testWiki(t, dockerEngine) }

func testWiki(t *testing.T, rt engineRuntime) {
	rt.require(t)
	v1 := buildWiki(t, rt, 1)
	v2 := buildWiki(t, rt, 2)
	tools := wikiTools(t)
	t.Run("bad-parameters", func(t *testing.T) { wikiBadParameters(t, rt, v1) })
	for _, ro := range []bool{false, true} {
		name := "read-write"
		if ro {
			name = "read-only"
		}
		t.Run(name, func(t *testing.T) { wikiFlow(t, rt, v1, v2, tools, ro) })
	}
}

// wikiFlow is the whole test list, in order, on one volume (and a second, fresh one
// for the restore).
func wikiFlow(t *testing.T, rt engineRuntime, v1, v2, tools string, readOnly bool) {
	xfer := t.TempDir() // carries the backup from one container to another
	run := func(image, volume string, env ...string) *container {
		return rt.run(t, image, podman.RunOptions{
			Env: append(append([]string{}, wikiEnv...), env...), Volume: volume, ReadOnly: readOnly,
			Args: []string{"-v", tools + ":/opt/wikitest:ro", "-v", xfer + ":/xfer"},
		})
	}
	vol := rt.newVolume(t)

	// First boot: configure hook, then the wiki.
	c1 := run(v1, vol)
	wikiReady(t, c1, "first boot")
	wikiCheckMainPage(t, c1)
	if out := c1.MustExec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-configure.service"); !strings.Contains(out, "running MediaWiki's installer") {
		t.Errorf("the configure hook's journal does not show MediaWiki's installer:\n%s", out)
	}
	// Log in and create a page (with an upload) through MediaWiki's API.
	c1.MustExec("/opt/wikitest/edit-page.sh", wikiAdmin, wikiPassword, wikiPage, wikiText+" [[File:Pixel.png]]", "/opt/wikitest/pixel.png")
	wikiCheckPage(t, c1, "after creating it")
	// The health check cron starts every 5 minutes passes on a healthy wiki.
	c1.MustExec("systemctl", "start", "wiki-health.service")
	// A day passes: every active timer's job runs once; none may fail (on a read-only root
	// too), and none may write outside the volume (the diff below).
	for _, timer := range strings.Fields(c1.MustExec("systemctl", "list-units", "--type=timer", "--state=active", "--plain", "--no-legend", "--no-pager")) {
		if !strings.HasSuffix(timer, ".timer") {
			continue
		}
		svc := c1.MustExec("systemctl", "show", "-p", "Unit", "--value", timer)
		if out, errs, code, _ := c1.Exec("systemctl", "start", svc); code != 0 {
			t.Errorf("%s's job %s failed: exit %d\n%s%s", timer, svc, code, out, errs)
		}
	}
	wikiCheckDiff(t, c1, "after first boot")
	if rt.name == "docker" {
		wikiDiffOracle(t, c1, readOnly)
	}
	wikiCheckLogs(t, c1)
	wikiStop(t, c1)
	c1.Remove()

	// A new container on the same volume: the page is there, first boot did not run again.
	// SMTP_PORT (on_change: reconfigure) changed: the reconfigure hook rewrote msmtprc.
	c2 := run(v1, vol, "SMTP_PORT=2526")
	wikiReady(t, c2, "re-created container")
	wikiCheckPage(t, c2, "in a new container on the same volume")
	if out, _, code, _ := c2.Exec("grep", "-x", "port 2526", "/etc/msmtprc"); code != 0 {
		rc, _, _, _ := c2.Exec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-reconfigure.service")
		t.Errorf("SMTP_PORT=2526 did not reach /etc/msmtprc through the reconfigure hook (grep exit %d %s); its journal:\n%s", code, out, rc)
	}
	if out, _, _, _ := c2.Exec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-configure.service"); strings.Contains(out, "running MediaWiki's installer") {
		t.Errorf("the configure hook ran again on a configured volume:\n%s", out)
	}
	wikiCheckDiff(t, c2, "after a restart")
	wikiStop(t, c2)
	c2.Remove()

	// Image v2 on the same volume: the upgrade hook ran, the changed config file and the
	// new volume path arrived, the page is still there.
	c3 := run(v2, vol)
	wikiReady(t, c3, "upgraded image")
	if out, _, _, _ := c3.Exec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-upgrade.service"); !strings.Contains(out, "running MediaWiki's update.php") || !strings.Contains(out, "upgrade done") {
		t.Errorf("the upgrade hook did not run MediaWiki's update.php to the end; its journal:\n%s", out)
	}
	if out, _, code, _ := c3.Exec("grep", "-c", "ServerSignature Off", "/etc/apache2/sites-available/wiki.conf"); code != 0 {
		t.Errorf("the v2 Apache site (an unchanged config file) did not reach the volume: grep exit %d %s", code, out)
	}
	if out, _, code, _ := c3.Exec("cat", "/data/var/lib/wiki-v2/added"); code != 0 || strings.TrimSpace(out) != "v2" {
		t.Errorf("the new volume path /var/lib/wiki-v2 of v2 is not on the volume: exit %d %q", code, out)
	}
	wikiCheckPage(t, c3, "after the upgrade")
	wikiCheckMainPage(t, c3)

	// The nightly backup, run by hand, restores into a fresh container.
	c3.MustExec("systemctl", "start", "wiki-backup.service")
	backup := c3.MustExec("sh", "-c", "ls /data/backup | grep '^wiki-.*\\.tar\\.gz$' | tail -n 1")
	if backup == "" {
		t.Fatalf("wiki-backup.service wrote no wiki-*.tar.gz into /data/backup")
	}
	if list := c3.MustExec("tar", "-tzf", "/data/backup/"+backup); !strings.Contains(list, "db.sql") || !strings.Contains(list, "Pixel.png") {
		t.Errorf("backup %s lacks the database dump or the upload:\n%s", backup, list)
	}
	c3.MustExec("cp", "/data/backup/"+backup, "/xfer/")
	// Retention: BACKUP_KEEP=3 keeps the newest three (names are per second).
	for i := 0; i < 3; i++ {
		time.Sleep(1100 * time.Millisecond)
		c3.MustExec("systemctl", "start", "wiki-backup.service")
	}
	if list := c3.MustExec("ls", "/data/backup"); len(strings.Fields(list)) != 3 || strings.Contains(list, backup) {
		t.Errorf("after 4 backups with BACKUP_KEEP=3, /data/backup holds (want the newest 3):\n%s", list)
	}
	// A key pair for the sshd check below, made where ssh-keygen surely exists.
	c3.MustExec("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wiki-test", "-f", "/xfer/id_test")
	pub, err := os.ReadFile(filepath.Join(xfer, "id_test.pub"))
	if err != nil {
		t.Fatal(err)
	}
	wikiStop(t, c3)
	c3.Remove()

	// A fresh volume, with sshd asked for (SSHD, SSH_AUTHORIZED_KEYS).
	c4 := run(v2, rt.newVolume(t), "SSHD=true", "SSH_AUTHORIZED_KEYS="+strings.TrimSpace(string(pub)))
	wikiReady(t, c4, "fresh container for the restore")
	if out, _, _, _ := c4.Exec("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", wikiPageURL("raw")); strings.TrimSpace(out) == "200" {
		t.Fatalf("a fresh wiki already has the test page")
	}
	c4.MustExec("/usr/libexec/wiki/restore", "/xfer/"+backup)
	wikiCheckPage(t, c4, "restored from the backup")
	if out := c4.MustExec("find", "/var/lib/mediawiki/images/", "-name", "Pixel.png"); out == "" {
		t.Errorf("the restored wiki lacks the uploaded Pixel.png")
	}

	// sshd runs and lets root in with the key (from inside the container: loopback only).
	if out, errs, code, _ := c4.Exec("ssh", "-i", "/xfer/id_test", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "root@127.0.0.1", "echo logged-in-as-$(id -un)"); code != 0 || strings.TrimSpace(out) != "logged-in-as-root" {
		t.Errorf("ssh root@127.0.0.1 with SSHD=true and the test's key: exit %d %q\n%s", code, out, errs)
	}

	// A failing backup mails the administrator through msmtp: the SMTP sink listens on
	// 127.0.0.1 inside the container (SMTP_HOST=127.0.0.1).
	c4.MustExec("systemd-run", "--unit=smtpsink", "/opt/wikitest/smtpsink", "-listen", "127.0.0.1:2525", "-dir", "/run/smtpsink")
	wikiWaitFor(t, 20*time.Second, "the SMTP sink to listen", func() bool {
		_, _, code, _ := c4.Exec("test", "-e", "/run/smtpsink/.ready")
		return code == 0
	})
	// Make the backup fail: its directory is a file.
	c4.MustExec("sh", "-c", "rm -rf /data/backup && touch /data/backup")
	if _, _, code, _ := c4.Exec("systemctl", "start", "wiki-backup.service"); code == 0 {
		t.Errorf("wiki-backup.service succeeded with /data/backup a file")
	}
	var mail string
	wikiWaitFor(t, 30*time.Second, "the failure mail in the SMTP sink", func() bool {
		out, _, code, _ := c4.Exec("sh", "-c", "cat /run/smtpsink/*.eml")
		mail = out
		return code == 0 && out != ""
	})
	for _, want := range []string{"Subject: [" + wikiName + "] wiki-backup.service failed", "To: " + wikiEmail, "RCPT TO:<" + wikiEmail + ">"} {
		if !strings.Contains(mail, want) {
			t.Errorf("the failure mail lacks %q:\n%s", want, mail)
		}
	}
	c4.MustExec("sh", "-c", "rm -f /data/backup && systemctl reset-failed")

	// An essential unit that fails for good stops the container with its declared code
	// (mariadb.service: essential, the default 17). The drop-in is in /run: writable on a
	// read-only root too.
	c4.MustExec("sh", "-c", "mkdir -p /run/systemd/system/mariadb.service.d && "+
		"printf '[Service]\\nExecStartPre=/bin/false\\nRestart=no\\n' >/run/systemd/system/mariadb.service.d/fail.conf && "+
		"systemctl daemon-reload && (systemctl restart mariadb.service || true)")
	code, err := c4.Wait(2 * time.Minute)
	if err != nil {
		t.Fatalf("after mariadb.service failed for good: %v", err)
	}
	if code != int(exitcode.Essential) {
		t.Errorf("exit code %d after the essential mariadb.service failed, want %d (essential-failed); logs:\n%s", code, exitcode.Essential, wikiTail(c4.Logs(), 30))
	}
	if logs := c4.Logs(); !strings.Contains(logs, "mariadb.service") || !strings.Contains(logs, fmt.Sprintf("exits with code %d", exitcode.Essential)) {
		t.Errorf("the container's logs do not say that mariadb.service failed and the exit code:\n%s", wikiTail(logs, 30))
	}
}

// wikiBadParameters: every parameter is validated as declared, all problems are reported at
// once on the container's output, the container exits with the parameters' exit code before
// anything starts, and a secret's value is not printed.
func wikiBadParameters(t *testing.T, rt engineRuntime, image string) {
	const secret = "pw-Xq7zz" // too short: 10 characters at least
	c := rt.run(t, image, podman.RunOptions{Env: []string{
		"WIKI_ADMIN_PASSWORD=" + secret, "WIKI_ADMIN_EMAIL=not-an-address", "SMTP_PORT=99999",
		"BACKUP_KEEP=0", "SMTP_TLS=sometimes", "WIKI_SERVER_URL=http://wiki.example.org/with/path",
	}})
	code, err := c.Wait(2 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code != int(exitcode.Params) {
		t.Errorf("exit code %d with invalid parameters, want %d (params)", code, exitcode.Params)
	}
	logs := c.Logs()
	for _, name := range []string{"WIKI_ADMIN_PASSWORD", "WIKI_ADMIN_EMAIL", "SMTP_PORT", "BACKUP_KEEP", "SMTP_TLS", "WIKI_SERVER_URL"} {
		if !strings.Contains(logs, name) {
			t.Errorf("podman logs does not name the invalid parameter %s:\n%s", name, logs)
		}
	}
	if strings.Contains(logs, secret) {
		t.Errorf("podman logs shows the secret's value:\n%s", logs)
	}
}

func wikiPageURL(action string) string {
	return "http://127.0.0.1/mediawiki/index.php?title=" + wikiPage + "&action=" + action
}

// wikiReady waits, within a bound, until the wiki is up: `appagent status --wait` says ready
// (exit 0: hooks done, every declared unit up) and systemd agrees ("running": nothing failed).
func wikiReady(t *testing.T, c *container, what string) {
	t.Helper()
	start := time.Now()
	if _, err := c.WaitRunning(5 * time.Minute); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	out, errs, code, err := c.Exec("appagent", "status", "--wait=5m")
	if err != nil || code != 0 {
		t.Fatalf("%s: appagent status --wait=5m: exit %d (want 0, ready) %v\n%s%s\njournal:\n%s", what, code, err, out, errs, c.Journal(60))
	}
	if state, _, _, _ := c.Exec("systemctl", "is-system-running"); strings.TrimSpace(state) != "running" {
		failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager", "--no-legend")
		t.Errorf("%s: appagent status is ready but systemd is %q, want running; failed units:\n%s", what, strings.TrimSpace(state), failed)
	}
	t.Logf("%s: ready in %s", what, time.Since(start).Round(time.Millisecond))
}

// wikiCheckMainPage: HTTP 200 on the main page, which names the wiki.
func wikiCheckMainPage(t *testing.T, c *container) {
	t.Helper()
	out := c.MustExec("curl", "-sS", "-w", "\n%{http_code}", wikiMain)
	i := strings.LastIndex(out, "\n")
	body, code := out[:i+1], out[i+1:]
	if code != "200" {
		t.Errorf("GET %s: HTTP %s, want 200", wikiMain, code)
	}
	if !regexp.MustCompile(`<title>[^<]*` + regexp.QuoteMeta(wikiName) + `[^<]*</title>`).MatchString(body) {
		t.Errorf("GET %s: the page's title does not name the wiki %q:\n%.600s", wikiMain, wikiName, body)
	}
}

func wikiCheckPage(t *testing.T, c *container, when string) {
	t.Helper()
	if out := c.MustExec("curl", "-sS", wikiPageURL("raw")); !strings.Contains(out, wikiText) {
		t.Errorf("%s: page %s does not hold the test's text; got:\n%.400s", when, wikiPage, out)
	}
}

// wikiCheckDiff: nothing was written outside the volume (`appagent diff --json`, issue 6).
func wikiCheckDiff(t *testing.T, c *container, when string) {
	t.Helper()
	out, errs, code, err := c.Exec("appagent", "diff", "--json")
	if err != nil || code != 0 {
		t.Fatalf("%s: appagent diff --json: exit %d %v\n%s%s", when, code, err, out, errs)
	}
	var r struct {
		Changes []json.RawMessage `json:"changes"`
		Errors  []string          `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: appagent diff --json: %v\n%s", when, err, out)
	}
	if len(r.Changes) != 0 || len(r.Errors) != 0 {
		text, _, _, _ := c.Exec("appagent", "diff")
		t.Errorf("%s: appagent diff is not empty: the wiki wrote outside its volume:\n%s", when, text)
	}
}

// wikiCheckLogs: the journal reaches `podman logs`, Apache's and MariaDB's lines included.
func wikiCheckLogs(t *testing.T, c *container) {
	t.Helper()
	var logs string
	ok := func() bool {
		logs = c.Logs()
		// Apache's access log line of the test's request, MariaDB's own start line.
		return strings.Contains(logs, "apache2-access") && strings.Contains(logs, "GET /mediawiki/") &&
			strings.Contains(logs, "mariadbd") && strings.Contains(logs, "ready for connections")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !ok() && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if !ok() {
		agent, _, _, _ := c.Exec("journalctl", "--no-pager", "-o", "short-precise", "-u", "appagent.service")
		t.Errorf("podman logs lacks MariaDB's (mariadbd: ready for connections) or Apache's (apache2-access: GET /mediawiki/) lines; last lines:\n%s\nthe agent's journal:\n%s",
			wikiTail(logs, 40), wikiTail(agent, 40))
	}
	// Debian's tmpfiles.d rule for /root/.ssh (a volume path) was moved onto the volume by
	// prepare: no "is not a directory" at boot, and its mode applies to the data.
	tmp, _, _, _ := c.Exec("journalctl", "-o", "cat", "--no-pager", "-u", "systemd-tmpfiles-setup.service")
	if strings.Contains(tmp+logs, "already exists and is not a directory") {
		t.Errorf("systemd-tmpfiles still meets a volume path's symlink:\n%s", tmp)
	}
	if mode := c.MustExec("stat", "-c", "%a", "/data/root/.ssh"); mode != "700" {
		t.Errorf("/data/root/.ssh has mode %s; the tmpfiles.d rule's 0700 did not apply on the volume", mode)
	}
}

// wikiStop: podman stop exits 0 within 15 s.
func wikiStop(t *testing.T, c *container) {
	t.Helper()
	start := time.Now()
	code, err := c.Stop(15 * time.Second)
	if err != nil {
		t.Fatalf("podman stop: %v", err)
	}
	if code != 0 {
		t.Errorf("podman stop: exit code %d, want 0; logs:\n%s", code, wikiTail(c.Logs(), 30))
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
}

func wikiWaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", d, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func wikiTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wikiDiffOracle holds `appagent diff` to `docker diff`, Docker's own record of what the
// container wrote to its layer: every path docker diff reports is reported by appagent diff,
// covered by its ignore list (built-in and the image's, as --json lists them), a mount point
// of the runtime's own (-v, --tmpfs), or a parent directory docker marks changed because of
// a change below it; and every change appagent diff
// reports is in docker diff. On a writable root the test first writes outside the volume
// (a new file, a changed file), so both sides have something to agree on.
func wikiDiffOracle(t *testing.T, c *container, readOnly bool) {
	t.Helper()
	if !readOnly {
		c.MustExec("sh", "-c", "echo oracle >/etc/appagent-oracle-added && echo '# oracle' >>/etc/issue")
		defer c.MustExec("sh", "-c", "rm -f /etc/appagent-oracle-added && sed -i '/^# oracle$/d' /etc/issue")
	}
	out := c.MustExec("appagent", "diff", "--json")
	var r struct {
		Changes []struct {
			Path  string `json:"path"`
			Below int    `json:"below"`
		} `json:"changes"`
		Ignored []string `json:"ignored"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("appagent diff --json: %v\n%s", err, out)
	}
	reported := map[string]bool{}
	for _, ch := range r.Changes {
		reported[ch.Path] = true
	}
	under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") }
	ignored := func(p string) bool {
		for _, ig := range r.Ignored {
			if ok, _ := filepath.Match(ig, p); ok || under(p, ig) {
				return true
			}
		}
		return false
	}
	dockerSaw := map[string]bool{}
	var dockerPaths []string
	for _, line := range docker.Diff(t, c) {
		kind, p, ok := strings.Cut(line, " ")
		if !ok || len(kind) != 1 {
			t.Fatalf("docker diff line %q: not KIND PATH", line)
		}
		dockerSaw[p] = true
		dockerPaths = append(dockerPaths, p)
	}
	// The runtime's own mount points (-v, --tmpfs) are made in the layer by docker itself.
	mounts := map[string]bool{}
	for _, line := range strings.Split(c.MustExec("cat", "/proc/1/mountinfo"), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			mounts[f[4]] = true
		}
	}
	unaccounted := 0
	for _, p := range dockerPaths {
		if under(p, "/data") || mounts[p] || reported[p] || ignored(p) {
			continue
		}
		parent := false // docker marks a directory C when anything below it changed
		for _, q := range dockerPaths {
			if q != p && under(q, p) {
				parent = true
				break
			}
		}
		if parent {
			continue
		}
		if below := func() bool {
			for _, ch := range r.Changes {
				if ch.Below > 0 && under(p, ch.Path) {
					return true
				}
			}
			return false
		}(); below {
			continue
		}
		unaccounted++
		t.Errorf("docker diff reports %s, which appagent diff neither reports nor ignores: it would be lost on re-creation without a word", p)
	}
	for p := range reported {
		if !dockerSaw[p] {
			t.Errorf("appagent diff reports %s, which docker diff does not: a false alarm", p)
		}
	}
	if !readOnly {
		for _, p := range []string{"/etc/appagent-oracle-added", "/etc/issue"} {
			if !reported[p] || !dockerSaw[p] {
				t.Errorf("the planted change %s: appagent diff %v, docker diff %v; want both", p, reported[p], dockerSaw[p])
			}
		}
	}
	t.Logf("diff oracle: docker diff %d paths, appagent diff %d changes, %d unaccounted", len(dockerPaths), len(r.Changes), unaccounted)
}
