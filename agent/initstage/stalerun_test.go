package initstage

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanStaleRun(t *testing.T) {
	root := t.TempDir()
	mk := func(p, content string) {
		t.Helper()
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("run/systemd/journal/kernel-seqnum", "1")
	mk("run/systemd/system/.keep", "")
	mk("run/log/journal/system.journal", "old")
	mk("run/mysqld/mysqld.pid", "261")
	mk("run/new\nline", "x")
	mk("run/lock/apache2/lock", "x")
	mk("run/secrets/WIKI_NAME", "kept: a mount point")
	mk("run/.containerenv", "kept: a mount point")
	mk("run/appagent-x/under/mount/file", "kept: holds a mount point")
	mk("run/appagent-x/sibling", "removed with its directory? no: the directory holds a mount")
	mountinfo := strings.Join([]string{
		"20 1 0:1 / / rw - overlay overlay rw",
		"21 20 0:2 / /run rw - tmpfs tmpfs rw",
		"22 21 0:3 / /run/lock rw - tmpfs tmpfs rw",
		"23 21 0:4 / /run/secrets ro - tmpfs tmpfs rw",
		"24 21 0:5 /c /run/.containerenv ro - tmpfs tmpfs rw",
		"25 21 0:6 / /run/appagent-x/under/mount rw - tmpfs tmpfs rw",
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := CleanStaleRun(root, mountinfo, &out); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"run/systemd": false, "run/log": false, "run/mysqld": false, "run/new\nline": false, "run/lock/apache2": false,
		"run/lock": true, "run/secrets/WIKI_NAME": true, "run/.containerenv": true,
		"run/appagent-x/under/mount/file": true, "run/appagent-x/sibling": true,
	} {
		_, err := os.Lstat(filepath.Join(root, p))
		if (err == nil) != want {
			t.Errorf("%q: exists=%v, want %v", p, err == nil, want)
		}
	}
	msg := out.String()
	if !strings.Contains(msg, `"/run/systemd"`) || !strings.Contains(msg, `"/run/new\nline"`) || !strings.Contains(msg, `"/run/lock/apache2"`) || strings.Count(msg, "\n") != 1 {
		t.Errorf("message: %q", msg)
	}

	// A fresh /run (no boot mark) is left alone, whatever it holds.
	mk("run/mysqld/mysqld.pid", "1")
	out.Reset()
	if err := CleanStaleRun(root, mountinfo, &out); err != nil || out.Len() != 0 {
		t.Errorf("fresh /run: %v %q", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(root, "run/mysqld/mysqld.pid")); err != nil {
		t.Errorf("a fresh /run was cleaned: %v", err)
	}
}
