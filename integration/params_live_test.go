package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/podman"
)

// kubeFiles lays out a directory the way the kubelet does for a mounted Secret or ConfigMap
// (its AtomicWriter): the values in a dated directory, ..data a symlink to it, each name a
// symlink into ..data. An update is a new directory, a ..data_tmp link renamed over ..data,
// and the old directory's removal: one atomic swap, as a live pod sees it.
type kubeFiles struct {
	t        *testing.T
	dir, old string
	gen      int
}

func (k *kubeFiles) write(values map[string]string) {
	k.t.Helper()
	k.gen++
	ts := filepath.Join(k.dir, fmt.Sprintf("..2026_12_01_12_00_%02d.%d", k.gen, k.gen))
	must := func(err error) {
		k.t.Helper()
		if err != nil {
			k.t.Fatal(err)
		}
	}
	must(os.Mkdir(ts, 0o755))
	for n, v := range values {
		must(os.WriteFile(filepath.Join(ts, n), []byte(v), 0o644))
		if _, err := os.Lstat(filepath.Join(k.dir, n)); err != nil {
			must(os.Symlink("..data/"+n, filepath.Join(k.dir, n)))
		}
	}
	must(os.Symlink(filepath.Base(ts), filepath.Join(k.dir, "..data_tmp")))
	must(os.Rename(filepath.Join(k.dir, "..data_tmp"), filepath.Join(k.dir, "..data")))
	if k.old != "" {
		must(os.RemoveAll(k.old))
	}
	k.old = ts
}

// TestLiveParamsWiki: the wiki reads its parameters from /run/secrets laid out as Kubernetes
// mounts a Secret and ConfigMap; while it runs the files are swapped as the kubelet swaps
// them. The on_change: reconfigure values (a URL and the relay's secret password) are taken
// and the reconfigure hook rewrites the wiki's files, without a restart; the on_change:
// ignore value is not taken and a warning says so; no secret value is in any log line.
func TestLiveParamsWiki(t *testing.T) {
	podman.Require(t)
	image := buildWiki(t, podmanEngine, 1)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, kv := range wikiEnv {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	const oldPw, newPw = "relay-pw-sentinel-old", "relay-pw-sentinel-new"
	values["SMTP_USER"] = "relay-user" // the password is only written with a user
	values["SMTP_PASSWORD"] = oldPw
	files := &kubeFiles{t: t, dir: dir}
	files.write(values)
	c := podmanEngine.run(t, image, podman.RunOptions{Args: []string{"-v", dir + ":/run/secrets:ro"}})
	wikiReady(t, c, "first start")
	if got := c.MustExec("grep", "-c", oldPw, "/etc/msmtprc"); got != "1" {
		t.Fatalf("the configure hook did not write the relay password from /run/secrets: %s", got)
	}

	const newURL = "http://wiki.example.org:8081"
	values["WIKI_SERVER_URL"] = newURL
	values["SMTP_PASSWORD"] = newPw
	values["WIKI_ADMIN_USER"] = "Someone" // on_change: ignore
	files.write(values)
	wikiWaitFor(t, 2*time.Minute, "the reconfigure hook to take the new values", func() bool {
		s, _, _, _ := c.Exec("cat", "/etc/mediawiki/LocalSettings.params.php")
		m, _, _, _ := c.Exec("cat", "/etc/msmtprc")
		return strings.Contains(s, newURL) && strings.Contains(m, newPw)
	})
	wikiReady(t, c, "after the live change")
	wikiCheckMainPage(t, c)
	if got := strings.TrimSpace(c.MustExec("cat", "/run/appagent/params/WIKI_ADMIN_USER")); got != wikiAdmin {
		t.Errorf("WIKI_ADMIN_USER (on_change: ignore) is %q while running, want the stored %q", got, wikiAdmin)
	}
	journal := c.MustExec("journalctl", "-b", "--no-pager", "-o", "cat")
	for _, want := range []string{"parameters changed while running", "reconfigure hook started", "WIKI_ADMIN_USER", "on_change: ignore"} {
		if !strings.Contains(journal, want) {
			t.Errorf("the journal does not say %q", want)
		}
	}
	wikiWaitFor(t, time.Minute, "the hook's lines in podman logs", func() bool {
		return strings.Contains(c.Logs(), "reconfigured from the current parameters")
	})
	for where, text := range map[string]string{"podman logs": c.Logs(), "the journal": journal} {
		for _, pw := range []string{oldPw, newPw} {
			if strings.Contains(text, pw) {
				t.Errorf("a secret value is in %s", where)
			}
		}
	}
}
