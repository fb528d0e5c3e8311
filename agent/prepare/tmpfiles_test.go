package prepare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMoveTmpfilesRules: rules for volume paths move onto the volume in an /etc override,
// destructive ones are commented out, others and other files stay, /etc shadows /usr/lib,
// and a second run changes nothing.
func TestMoveTmpfilesRules(t *testing.T) {
	root := t.TempDir()
	write := func(p, c string) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/usr/lib/tmpfiles.d/provision.conf", "# provision\nd- /root :0700 root :root -\nd- /root/.ssh :0700 root :root -\n")
	write("/usr/lib/tmpfiles.d/postgresql.conf", "d /var/log/postgresql 2775 postgres postgres -\nd /var/log/postgresql/x 0700 postgres postgres -\nD /var/log/postgresql/tmp 0700 - - -\nR! /var/log/postgresql/old\n")
	write("/usr/lib/tmpfiles.d/other.conf", "d /var/lib/other 0755 - - -\nd %h/.cache 0700 - - -\n")
	write("/usr/lib/tmpfiles.d/shadowed.conf", "d /root/.ssh 0755 - - -\n")
	write("/etc/tmpfiles.d/shadowed.conf", "d /var/log/postgresql-not 0755 - - -\n")

	vols := []string{"/root/.ssh", "/var/log/postgresql"}
	changes, err := MoveTmpfilesRules(root, "/data", vols)
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	prov := read("/etc/tmpfiles.d/provision.conf")
	if !strings.Contains(prov, "d- /root :0700 root :root -\n") || !strings.Contains(prov, "d- /data/root/.ssh :0700 root :root -\n") || strings.Contains(prov, " /root/.ssh ") {
		t.Errorf("provision override:\n%s", prov)
	}
	pg := read("/etc/tmpfiles.d/postgresql.conf")
	for _, want := range []string{"d /data/var/log/postgresql 2775 postgres postgres -\n", "d /data/var/log/postgresql/x 0700", "# appagent: removes data on the volume at every boot, disabled: D /var/log/postgresql/tmp", "disabled: R! /var/log/postgresql/old"} {
		if !strings.Contains(pg, want) {
			t.Errorf("postgresql override lacks %q:\n%s", want, pg)
		}
	}
	for _, p := range []string{"/etc/tmpfiles.d/other.conf"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s written for a file without volume paths", p)
		}
	}
	if got := read("/etc/tmpfiles.d/shadowed.conf"); got != "d /var/log/postgresql-not 0755 - - -\n" {
		t.Errorf("the /etc file that shadows another was changed: %q", got)
	}
	if len(changes) != 5 {
		t.Errorf("%d changes, want 5: %v", len(changes), changes)
	}
	for _, c := range changes {
		s := c.String()
		if !strings.HasPrefix(s, "warning: /usr/lib/tmpfiles.d/") || !strings.Contains(s, "/etc/tmpfiles.d/") {
			t.Errorf("change text: %s", s)
		}
	}
	again, err := MoveTmpfilesRules(root, "/data", vols)
	if err != nil || len(again) != 0 {
		t.Errorf("second run: %v %v", again, err)
	}
	if read("/etc/tmpfiles.d/provision.conf") != prov {
		t.Errorf("second run changed the override")
	}
}
