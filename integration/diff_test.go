package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/diff"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// diffConfig keeps one directory of the image on the volume, so the volume's symlink is part
// of what diff compares.
const diffConfig = `volume:
  path: /data
  paths:
    - /var/lib/app
`

func diffReport(t *testing.T, c execer) *diff.Report {
	t.Helper()
	out, errs, code, err := c.Exec("/usr/bin/appagent", "diff", "--json")
	if err != nil || code != 0 {
		t.Fatalf("appagent diff: exit %d %v\n%s\n%s", code, err, out, errs)
	}
	var r diff.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("diff --json: %v\n%s", err, out)
	}
	return &r
}

func assertNoDiff(t *testing.T, c execer, when string) {
	t.Helper()
	r := diffReport(t, c)
	if len(r.Changes) != 0 {
		text, _, _, _ := c.Exec("/usr/bin/appagent", "diff")
		t.Errorf("%s: diff is not empty:\n%s", when, text)
	}
	if r.Recorded < 1000 {
		t.Errorf("%s: only %d entries compared: the manifest is not the image's", when, r.Recorded)
	}
	t.Logf("%s: %d entries compared in %s, no difference", when, r.Walked, r.Elapsed)
}

func TestDiffNspawn(t *testing.T) {
	nspawn.Require(t)
	files := map[string]string{"/etc/appagent/appagent.yaml": diffConfig}
	setup := func(t testing.TB, root string) {
		if err := os.MkdirAll(filepath.Join(root, "var/lib/app"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "var/lib/app/state"), []byte("initial\n"), 0o644)
	}
	c := nspawn.Boot(t, nspawn.Options{Files: files, Setup: setup, Prepare: true})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	c.MustExec("/usr/bin/appagent", "status", "--wait=60s")
	assertNoDiff(t, c, "after the first boot")

	// Writes outside the volume are found and suggested; writes to the volume are not.
	c.MustExec("sh", "-c", "echo bar > /etc/foo && mkdir -p /var/lib/other/sub && touch /var/lib/other/a /var/lib/other/sub/b && echo more >> /var/lib/app/state")
	r := diffReport(t, c)
	var paths []string
	for _, ch := range r.Changes {
		paths = append(paths, string(ch.Kind)+" "+ch.Path)
	}
	if want := []string{"added /etc/foo", "added /var/lib/other"}; !slices.Equal(paths, want) {
		t.Errorf("changes %v, want %v", paths, want)
	}
	if want := []string{"/etc/foo", "/var/lib/other"}; !slices.Equal(r.Suggest, want) {
		t.Errorf("suggest %v, want %v", r.Suggest, want)
	}
	text := c.MustExec("/usr/bin/appagent", "diff")
	if !strings.Contains(text, "A /etc/foo") || !strings.Contains(text, "  - /var/lib/other") {
		t.Errorf("diff for people:\n%s", text)
	}
	c.MustExec("rm", "-rf", "/etc/foo", "/var/lib/other")

	// A restart of the same container (same root, same volume) writes nothing outside either.
	if code, err := c.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: exit %d %v", code, err)
	}
	// The harness installs the appagent binary again at every boot (same bytes, new mtime):
	// give it back the image's mtime, or diff would rightly report it.
	bin := filepath.Join(c.Root(), "usr/bin/appagent")
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	keepMtime := func(t testing.TB, root string) {
		if err := os.Chtimes(filepath.Join(root, "usr/bin/appagent"), fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	c2 := nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: c.Volume(), Setup: keepMtime})
	if _, err := c2.WaitRunning(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	c2.MustExec("/usr/bin/appagent", "status", "--wait=60s")
	assertNoDiff(t, c2, "after a restart")
}

func TestDiffPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: strings.Replace(bootContainerfile, "COPY appagent.yaml", "RUN mkdir -p /var/lib/app && echo initial > /var/lib/app/state\nCOPY appagent.yaml", 1),
		Files:         map[string]string{"appagent.yaml": diffConfig},
	})
	c := podman.Run(t, img, podman.RunOptions{})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	c.MustExec("/usr/bin/appagent", "status", "--wait=60s")
	assertNoDiff(t, c, "podman, after the first boot")
	c.MustExec("sh", "-c", "echo bar > /etc/foo")
	r := diffReport(t, c)
	if len(r.Changes) != 1 || r.Changes[0].Path != "/etc/foo" || r.Changes[0].Kind != diff.Added {
		t.Errorf("podman: changes %+v, want /etc/foo added", r.Changes)
	}
}
