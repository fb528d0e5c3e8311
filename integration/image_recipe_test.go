package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/podman"
)

// TestImageRecipePostgresPodman follows docs/image.md as written, for the application it
// names: PostgreSQL 15 from Debian's packages. The cluster postinst made is dropped before
// prepare, the configure hook creates it once per volume, and the instance the
// postgresql-generator cannot see on a first boot is enabled and listed in units: (issue 13,
// item 4; as first written, the docs left out the enable, and the unit never started).
// The volume keeps the data over a re-created container; a second volume starts empty.
func TestImageRecipePostgresPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Packages: []string{"postgresql-15"},
		Containerfile: `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
COPY configure /usr/local/libexec/pg-configure
RUN ["/usr/bin/pg_dropcluster", "15", "main"]
RUN ["/bin/systemctl", "enable", "postgresql@15-main.service"]
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/sbin/init"]
`,
		Files: map[string]string{
			"appagent.yaml": `volume:
  path: /data
  paths:
    - /etc/postgresql
    - /var/lib/postgresql
    - /var/log/postgresql
units:
  - name: postgresql@15-main.service
    essential: true
hooks:
  configure: /usr/local/libexec/pg-configure
`,
			"configure": "#!/bin/sh\nset -e\necho \"creating the cluster\"\npg_createcluster 15 main\n",
		},
	})

	vol := podman.NewVolume(t)
	c := podman.Run(t, img, podman.RunOptions{Volume: vol})
	if _, err := c.WaitRunning(120 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitReady := func(c *podman.Container, when string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			out, _, code, _ := c.Exec("/usr/bin/appagent", "status")
			if code == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not ready: exit %d\n%s\n%s", when, code, out, c.Logs())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitReady(c, "first boot")
	psql := func(c *podman.Container, sql string) string {
		t.Helper()
		out, errs, code, _ := c.Exec("runuser", "-u", "postgres", "--", "psql", "-Atc", sql)
		if code != 0 {
			t.Fatalf("psql %q: exit %d %s%s", sql, code, out, errs)
		}
		return strings.TrimSpace(out)
	}
	psql(c, "CREATE TABLE notes (t text); INSERT INTO notes VALUES ('kept')")
	if out := c.MustExec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-configure.service"); !strings.Contains(out, "creating the cluster") {
		t.Errorf("the configure hook did not create the cluster:\n%s", out)
	}
	if logs := c.Logs(); strings.Contains(logs, "already exists and is not a directory") {
		t.Errorf("a tmpfiles.d rule meets a volume path's symlink:\n%s", logs)
	}
	// postgresql-common's `d /var/log/postgresql 1775 root postgres`, moved onto the volume.
	if got := c.MustExec("stat", "-c", "%a %U:%G", "/data/var/log/postgresql"); got != "1775 root:postgres" {
		t.Errorf("/data/var/log/postgresql is %s; the tmpfiles.d rule did not apply on the volume", got)
	}
	c.Stop(60 * time.Second)
	c.Remove()

	// Re-created on the same volume: the cluster's generator now finds it, configure does
	// not run again, the data is there.
	c = podman.Run(t, img, podman.RunOptions{Volume: vol})
	waitReady(c, "re-created container")
	if got := psql(c, "SELECT t FROM notes"); got != "kept" {
		t.Errorf("after re-creation the table holds %q", got)
	}
	if out := c.MustExec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-configure.service"); strings.Contains(out, "creating the cluster") {
		t.Errorf("the configure hook ran again:\n%s", out)
	}
	c.Stop(60 * time.Second)

	// A new volume starts without the first one's data (nothing of it went into the image).
	c = podman.Run(t, img, podman.RunOptions{})
	waitReady(c, "second volume")
	if got := psql(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'notes'"); got != "0" {
		t.Errorf("a new volume has the notes table: %q", got)
	}
	c.Stop(60 * time.Second)
}
