package upgrade

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/internal/syncbuf"
)

// image builds an image root in a temp dir: files (path -> content; a content starting with
// "->" makes a symlink), the declaration, and runs Prepare on it.
func testImage(t *testing.T, files map[string]string, yaml string) (string, *config.Config) {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(c, "->") {
			if err := os.Symlink(strings.TrimPrefix(c, "->"), full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(c, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(root, "etc/appagent/appagent.yaml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o755)
	os.WriteFile(cfgPath, []byte(yaml), 0o644)
	cfg, rep := config.Parse(cfgPath, []byte(yaml))
	if rep.HasErrors() {
		t.Fatalf("config: %v", rep.Err())
	}
	var out bytes.Buffer
	if err := Prepare(root, cfg, &out); err != nil {
		t.Fatalf("prepare: %v\n%s", err, out.String())
	}
	return root, cfg
}

func syncVol(t *testing.T, root, vol string, cfg *config.Config) (*Plan, string, error) {
	t.Helper()
	var out bytes.Buffer
	p, err := Sync(Options{Config: cfg, Root: root, Volume: vol, Out: &out})
	return p, out.String(), err
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return string(b)
}

func write(t *testing.T, p, c string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
}

func noFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists, want it absent (err %v)", p, err)
	}
}

const yamlV1 = `version: 1
volume:
  paths:
    - /etc/app
    - /var/lib/app
    - {path: /var/log/app, optional: true}
    - /etc/single.conf
`

var filesV1 = map[string]string{
	"etc/app/a.conf":     "A1",
	"etc/app/b.conf":     "B1",
	"etc/app/gone.conf":  "G1",
	"etc/app/kept.conf":  "K1",
	"etc/app/link":       "->a.conf",
	"etc/app/sub/x.conf": "X1",
	"etc/app/type":       "was a file",
	"var/lib/app/db":     "DB1",
	"var/lib/app/big":    strings.Repeat("0123456789", 100000),
	"etc/other":          "not on the volume",
	"etc/single.conf":    "S1",
}

func TestPrepareMovesAndLinks(t *testing.T) {
	root, _ := testImage(t, filesV1, yamlV1)
	for _, p := range []string{"etc/app", "var/lib/app"} {
		target, err := os.Readlink(filepath.Join(root, p))
		if err != nil || target != "/data/"+p {
			t.Errorf("%s: link %q %v, want /data/%s", p, target, err, p)
		}
		if fi, err := os.Lstat(filepath.Join(root, "usr/share/appagent/template", p)); err != nil || !fi.IsDir() {
			t.Errorf("template %s: %v", p, err)
		}
	}
	if target, _ := os.Readlink(filepath.Join(root, "var/log/app")); target != "/data/var/log/app" {
		t.Errorf("optional absent path: link %q", target)
	}
	m, err := ParseManifest("m", []byte(read(t, filepath.Join(root, "usr/share/appagent/manifest.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Get("etc/app/a.conf"); e == nil || e.Type != TypeFile || e.Size != 2 || e.SHA256 == "" {
		t.Errorf("manifest a.conf: %+v", e)
	}
	if e := m.Get("etc/app/link"); e == nil || e.Type != TypeSymlink || e.Target != "a.conf" {
		t.Errorf("manifest link: %+v", e)
	}
	if e := m.Get("etc"); e == nil || e.Type != TypeDir {
		t.Errorf("manifest parent etc: %+v", e)
	}
	if id := strings.TrimSpace(read(t, filepath.Join(root, "usr/share/appagent/build-id"))); id != m.BuildID {
		t.Errorf("build-id %q, manifest %q", id, m.BuildID)
	}
}

func TestPrepareReportsMissingPaths(t *testing.T) {
	root := t.TempDir()
	yaml := "version: 1\nvolume:\n  paths:\n    - /etc/nothere\n    - /etc/alsonot\n    - {path: /etc/fine, optional: true}\n"
	cfg, rep := config.Parse("appagent.yaml", []byte(yaml))
	if rep.HasErrors() {
		t.Fatal(rep.Err())
	}
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	err := Prepare(root, cfg, nil)
	if exitcode.Of(err) != exitcode.Config {
		t.Fatalf("exit code %v, want config: %v", exitcode.Of(err), err)
	}
	var r *config.ReportError
	if !errors.As(err, &r) || len(r.Report.Problems) != 2 {
		t.Fatalf("want 2 problems at once, got %v", err)
	}
	for _, p := range r.Report.Problems {
		if p.Line == 0 || !strings.Contains(p.Message, "does not exist") {
			t.Errorf("problem without line or reason: %v", p)
		}
	}
}

func TestPopulateUpgradeMigrate(t *testing.T) {
	root1, cfg1 := testImage(t, filesV1, yamlV1)
	vol := t.TempDir()

	p, out, err := syncVol(t, root1, vol, cfg1)
	if err != nil || p.Kind != KindPopulate {
		t.Fatalf("populate: %v %v\n%s", p, err, out)
	}
	if got := read(t, vol+"/etc/app/a.conf"); got != "A1" {
		t.Errorf("a.conf = %q", got)
	}
	if got, _ := os.Readlink(vol + "/etc/app/link"); got != "a.conf" {
		t.Errorf("link = %q", got)
	}
	if len(read(t, vol+"/var/lib/app/big")) != 1000000 {
		t.Error("big file not copied whole")
	}
	noFile(t, vol+"/.appagent/staging")
	noFile(t, vol+"/.appagent/txn")

	// Second start on the same build: nothing.
	if p, out, err := syncVol(t, root1, vol, cfg1); err != nil || p.Kind != KindUpToDate {
		t.Fatalf("second start: %+v %v\n%s", p, err, out)
	}

	// The user's changes.
	write(t, vol+"/etc/app/b.conf", "B-user")
	write(t, vol+"/etc/app/kept.conf", "K-user")
	write(t, vol+"/var/lib/app/db", "DB-user")
	write(t, vol+"/etc/app/mine.conf", "mine")

	// Image v2: a changed (user did not touch), b changed (user did), gone removed, kept
	// removed (user changed), new file, new path, type changes, format 2 with a migration.
	files2 := map[string]string{
		"etc/app/a.conf":                      "A2",
		"etc/app/b.conf":                      "B2",
		"etc/app/link":                        "->b.conf",
		"etc/app/new.conf":                    "N2",
		"etc/single.conf":                     "S1",
		"etc/app/sub":                         "sub is a file now",
		"etc/app/type/":                       "",
		"etc/app/type/in":                     "inside",
		"var/lib/app/db":                      "DB1",
		"var/lib/app/big":                     strings.Repeat("0123456789", 100000),
		"srv/new/index.html":                  "hello",
		"usr/libexec/appagent/migrations/1-2": "#!/bin/sh\nset -e\necho migrating $APPAGENT_FORMAT_FROM to $APPAGENT_FORMAT_TO\necho done > \"$APPAGENT_VOLUME/var/lib/app/migrated\"\n",
	}
	yaml2 := strings.Replace(yamlV1, "    - /var/lib/app\n", "    - /var/lib/app\n    - /srv/new\n", 1) + "  format: 2\n"
	root2, cfg2 := testImage(t, files2, yaml2)

	var planOut bytes.Buffer
	plan, err := PlanVolume(Options{Config: cfg2, Root: root2, Volume: vol})
	if err != nil {
		t.Fatal(err)
	}
	plan.WriteText(&planOut)
	before := read(t, vol+"/etc/app/a.conf")
	if before != "A1" {
		t.Fatal("plan changed the volume")
	}
	for _, want := range []string{"replace  /etc/app/a.conf", "keep+new  /etc/app/b.conf", "remove", "/etc/app/gone.conf", "migrate", "1-2"} {
		if !strings.Contains(strings.Join(strings.Fields(planOut.String()), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("plan lacks %q:\n%s", want, planOut.String())
		}
	}

	p, out, err = syncVol(t, root2, vol, cfg2)
	if err != nil || p.Kind != KindUpgrade {
		t.Fatalf("upgrade: %v\n%s", err, out)
	}
	t.Logf("upgrade output:\n%s", out)
	checks := map[string]string{
		"etc/app/a.conf":              "A2",     // untouched by the user: replaced
		"etc/app/b.conf":              "B-user", // changed by both: kept
		"etc/app/b.conf.appagent-new": "B2",     // ... with the new one beside
		"etc/app/kept.conf":           "K-user", // gone from the image, changed: kept
		"etc/app/new.conf":            "N2",
		"etc/app/mine.conf":           "mine",
		"etc/app/sub":                 "sub is a file now",
		"etc/app/type/in":             "inside",
		"var/lib/app/db":              "DB-user", // image did not change it
		"var/lib/app/migrated":        "done\n",
		"srv/new/index.html":          "hello",
	}
	for p, want := range checks {
		if got := read(t, filepath.Join(vol, p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	noFile(t, vol+"/etc/app/gone.conf")
	if got, _ := os.Readlink(vol + "/etc/app/link"); got != "b.conf" {
		t.Errorf("link = %q, want b.conf", got)
	}
	if !strings.Contains(out, "b.conf.appagent-new") && !strings.Contains(out, "b.conf") {
		t.Errorf("no warning names b.conf:\n%s", out)
	}
	if got := strings.TrimSpace(read(t, vol+"/.appagent/format")); got != "2" {
		t.Errorf("format %q", got)
	}
	// The backup holds the replaced and removed files as they were.
	bk := strings.TrimPrefix(p.Backup, vol+"/")
	if got := read(t, filepath.Join(vol, bk, "files/etc/app/a.conf")); got != "A1" {
		t.Errorf("backup a.conf = %q", got)
	}
	if got := read(t, filepath.Join(vol, bk, "files/etc/app/gone.conf")); got != "G1" {
		t.Errorf("backup gone.conf = %q", got)
	}
	if got := read(t, filepath.Join(vol, bk, "files/etc/app/sub/x.conf")); got != "X1" {
		t.Errorf("the replaced directory sub is not in the backup: %q", got)
	}

	// Up to date again.
	if p, out, err := syncVol(t, root2, vol, cfg2); err != nil || p.Kind != KindUpToDate {
		t.Fatalf("after upgrade: %+v %v\n%s", p, err, out)
	}

	// Back to image v1 (format 1): refused, the volume is newer.
	if _, _, err := syncVol(t, root1, vol, cfg1); exitcode.Of(err) != exitcode.VolumeNewer {
		t.Errorf("older image on a newer volume: %v (code %v), want volume-newer", err, exitcode.Of(err))
	}
}

func TestMissingMigrationStep(t *testing.T) {
	root1, cfg1 := testImage(t, map[string]string{"etc/app/a": "1"}, "version: 1\nvolume:\n  paths: [/etc/app]\n")
	vol := t.TempDir()
	if _, _, err := syncVol(t, root1, vol, cfg1); err != nil {
		t.Fatal(err)
	}
	root3, cfg3 := testImage(t, map[string]string{"etc/app/a": "1",
		"usr/libexec/appagent/migrations/1-2": "#!/bin/sh\ntrue\n"}, "version: 1\nvolume:\n  paths: [/etc/app]\n  format: 3\n")
	_, _, err := syncVol(t, root3, vol, cfg3)
	if exitcode.Of(err) != exitcode.Upgrade || !strings.Contains(fmt.Sprint(err), "2-3") {
		t.Fatalf("want an upgrade error naming 2-3, got %v", err)
	}
}

// TestPopulatePreserves: type, mode (setuid too), owner, times, symlinks, hard links and
// xattrs survive prepare (template) and population (volume).
func TestPopulatePreserves(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to set owners")
	}
	files := map[string]string{"srv/x/bin": "#!/bin/sh\n", "srv/x/a": "hard", "srv/x/l": "->a"}
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if strings.HasPrefix(c, "->") {
			os.Symlink(c[2:], full)
		} else {
			os.WriteFile(full, []byte(c), 0o644)
		}
	}
	x := filepath.Join(root, "srv/x")
	os.Link(x+"/a", x+"/b")
	os.Chown(x+"/bin", 1234, 5678)
	os.Chmod(x+"/bin", 0o4755|os.ModeSetuid)
	unix.Chmod(x+"/bin", 0o4755)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(x+"/a", old, old)
	xattrOK := unix.Setxattr(x+"/a", "user.appagent", []byte("kept"), 0) == nil
	os.Chmod(x, 0o750)
	os.Chtimes(x, old, old)
	yaml := "version: 1\nvolume:\n  paths: [/srv/x]\n"
	cfgPath := filepath.Join(root, "etc/appagent/appagent.yaml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o755)
	os.WriteFile(cfgPath, []byte(yaml), 0o644)
	cfg, _ := config.Parse(cfgPath, []byte(yaml))
	if err := Prepare(root, cfg, nil); err != nil {
		t.Fatal(err)
	}
	vol := t.TempDir()
	if _, _, err := syncVol(t, root, vol, cfg); err != nil {
		t.Fatal(err)
	}
	v := filepath.Join(vol, "srv/x")
	var st unix.Stat_t
	unix.Lstat(v+"/bin", &st)
	if st.Mode&0o7777 != 0o4755 || st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("bin: mode %o owner %d:%d, want 4755 1234:5678", st.Mode&0o7777, st.Uid, st.Gid)
	}
	var sa, sb unix.Stat_t
	unix.Lstat(v+"/a", &sa)
	unix.Lstat(v+"/b", &sb)
	if sa.Ino != sb.Ino {
		t.Error("the hard link a/b became two files")
	}
	if time.Unix(sa.Mtim.Unix()).UTC() != old {
		t.Errorf("mtime of a: %v, want %v", time.Unix(sa.Mtim.Unix()).UTC(), old)
	}
	if l, _ := os.Readlink(v + "/l"); l != "a" {
		t.Errorf("symlink l -> %q", l)
	}
	if xattrOK {
		buf := make([]byte, 16)
		n, err := unix.Getxattr(v+"/a", "user.appagent", buf)
		if err != nil || string(buf[:n]) != "kept" {
			t.Errorf("xattr: %q %v", buf[:max(n, 0)], err)
		}
	}
	var sd unix.Stat_t
	unix.Lstat(v, &sd)
	if sd.Mode&0o7777 != 0o750 || time.Unix(sd.Mtim.Unix()).UTC() != old {
		t.Errorf("dir: mode %o mtime %v", sd.Mode&0o7777, time.Unix(sd.Mtim.Unix()).UTC())
	}
}

func TestSingleFilePath(t *testing.T) {
	root1, cfg1 := testImage(t, filesV1, yamlV1)
	vol := t.TempDir()
	if _, out, err := syncVol(t, root1, vol, cfg1); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := read(t, vol+"/etc/single.conf"); got != "S1" {
		t.Errorf("single.conf = %q", got)
	}
	if l, _ := os.Readlink(root1 + "/etc/single.conf"); l != "/data/etc/single.conf" {
		t.Errorf("image link %q", l)
	}
	files2 := map[string]string{}
	for k, v := range filesV1 {
		files2[k] = v
	}
	files2["etc/single.conf"] = "S2"
	root2, cfg2 := testImage(t, files2, yamlV1)
	if _, out, err := syncVol(t, root2, vol, cfg2); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := read(t, vol+"/etc/single.conf"); got != "S2" {
		t.Errorf("after upgrade single.conf = %q", got)
	}
}

func TestProgressLines(t *testing.T) {
	var out syncbuf.Buffer
	p := startProgress(&out, "populating /data", 10, 2e6, time.Millisecond)
	p.add(1e6)
	time.Sleep(20 * time.Millisecond)
	p.add(1e6)
	p.finish()
	s := out.String()
	if !strings.Contains(s, "appagent: populating /data: 1 of 10 files, 1.0 MB of 2.0 MB") && !strings.Contains(s, "2 of 10 files") {
		t.Errorf("no progress line:\n%s", s)
	}
	if !strings.Contains(s, "done, 2 files, 2.0 MB") || strings.Contains(s, "flushed") {
		t.Errorf("no summary line, or a flush that did not happen:\n%s", s)
	}
}

// After the copy, a slow flush to disk is said as such while it runs, and the summary gives
// the copy's and the flush's times, which add up to the whole.
func TestProgressLinesFlush(t *testing.T) {
	var out syncbuf.Buffer
	p := startProgress(&out, "populating /data", 2, 2e6, 5*time.Millisecond)
	p.add(1e6)
	p.add(1e6)
	p.flushing()
	// Wait for the ticker's line (however loaded the machine) and at least 30 ms of flush.
	const flushing = "appagent: populating /data: all 2 files copied; flushing them to disk for "
	for end := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), flushing) && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
	p.finish()
	s := out.String()
	if !strings.Contains(s, flushing) {
		t.Errorf("no flushing line:\n%s", s)
	}
	var total, copied, flushed time.Duration
	var tot, cp, fl string
	for _, l := range strings.Split(s, "\n") {
		if _, err := fmt.Sscanf(l, "appagent: populating /data: done, 2 files, 2.0 MB in %s (copied in %s flushed to disk in %s", &tot, &cp, &fl); err == nil {
			total, _ = time.ParseDuration(tot)
			copied, _ = time.ParseDuration(strings.TrimSuffix(cp, ","))
			flushed, _ = time.ParseDuration(strings.TrimSuffix(fl, ")"))
		}
	}
	if flushed < 30*time.Millisecond || copied > flushed || absDur(total-copied-flushed) > 2*time.Millisecond {
		t.Errorf("summary %v = copy %v + flush %v? in:\n%s", total, copied, flushed, s)
	}
}

func absDur(x time.Duration) time.Duration { return max(x, -x) }

func TestAdoptVolumeWithoutManifest(t *testing.T) {
	root1, cfg1 := testImage(t, filesV1, yamlV1)
	vol := t.TempDir()
	// A volume made by the talk's cp -n step, then edited: no .appagent at all.
	os.MkdirAll(vol+"/etc/app", 0o755)
	write(t, vol+"/etc/app/a.conf", "A-hand")
	write(t, vol+"/etc/app/b.conf", "B1")
	// Not without consent: nothing changes, the code is 19, the message names the fix.
	_, out, err := syncVol(t, root1, vol, cfg1)
	if exitcode.Of(err) != exitcode.VolumeForeign || !strings.Contains(err.Error(), AdoptEnv+"=yes") || !strings.Contains(err.Error(), `holds files ("etc")`) {
		t.Fatalf("adoption without consent: code %d %v\n%s", exitcode.Of(err), err, out)
	}
	noFile(t, vol+"/etc/app/a.conf.appagent-new")
	if pl, err := PlanVolume(Options{Config: cfg1, Root: root1, Volume: vol}); err != nil || !pl.Adopt {
		t.Errorf("plan: %+v %v", pl, err)
	}
	adopted := 0
	var o bytes.Buffer
	p, err := Sync(Options{Config: cfg1, Root: root1, Volume: vol, Out: &o, Adopt: true, OnAdopt: func() error {
		if _, err := os.Stat(vol + "/etc/app/a.conf.appagent-new"); err == nil {
			t.Error("OnAdopt ran after the volume changed")
		}
		adopted++
		return nil
	}})
	if err != nil || p.Kind != KindUpgrade || adopted != 1 || !strings.Contains(o.String(), "adopting the volume") {
		t.Fatalf("adopt: %+v %v (OnAdopt ran %d times)\n%s", p, err, adopted, o.String())
	}
	if got := read(t, vol+"/etc/app/a.conf"); got != "A-hand" {
		t.Errorf("a.conf = %q", got)
	}
	if got := read(t, vol+"/etc/app/a.conf.appagent-new"); got != "A1" {
		t.Errorf("a.conf.appagent-new = %q", got)
	}
	noFile(t, vol+"/etc/app/b.conf.appagent-new")
	if got := read(t, vol+"/var/lib/app/db"); got != "DB1" {
		t.Errorf("db = %q", got)
	}
	if p, _, err := syncVol(t, root1, vol, cfg1); err != nil || p.Kind != KindUpToDate {
		t.Errorf("after adoption: %+v %v", p, err)
	}
	// A removed format file is not guessed.
	os.Remove(vol + "/.appagent/format")
	if _, _, err := syncVol(t, root1, vol, cfg1); exitcode.Of(err) != exitcode.Upgrade || !strings.Contains(err.Error(), "format") {
		t.Errorf("missing format: %v", err)
	}
}

func TestFailedMigrationNamesBackup(t *testing.T) {
	root1, cfg1 := testImage(t, map[string]string{"etc/app/a": "1"}, "version: 1\nvolume:\n  paths: [/etc/app]\n")
	vol := t.TempDir()
	if _, _, err := syncVol(t, root1, vol, cfg1); err != nil {
		t.Fatal(err)
	}
	root2, cfg2 := testImage(t, map[string]string{"etc/app/a": "2",
		"usr/libexec/appagent/migrations/1-2": "#!/bin/sh\necho cannot migrate >&2\nexit 3\n"},
		"version: 1\nvolume:\n  paths: [/etc/app]\n  format: 2\n")
	_, out, err := syncVol(t, root2, vol, cfg2)
	if exitcode.Of(err) != exitcode.Upgrade || !strings.Contains(err.Error(), ".appagent/backup/") || !strings.Contains(err.Error(), "1-2") {
		t.Fatalf("want an upgrade error naming the step and the backup, got %v", err)
	}
	if !strings.Contains(out, "migration 1-2: cannot migrate") {
		t.Errorf("the step's output is not passed through:\n%s", out)
	}
	if got := strings.TrimSpace(read(t, vol+"/.appagent/format")); got != "1" {
		t.Errorf("format after a failed step = %q, want 1", got)
	}
	if _, err := os.Stat(vol + "/.appagent/txn"); err != nil {
		t.Errorf("the txn must stay so the next start resumes: %v", err)
	}
	// The image is fixed: the next start resumes at the step.
	os.WriteFile(filepath.Join(root2, "usr/libexec/appagent/migrations/1-2"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	if _, out, err := syncVol(t, root2, vol, cfg2); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(read(t, vol+"/.appagent/format")); got != "2" {
		t.Errorf("format = %q", got)
	}
}
