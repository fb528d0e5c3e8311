package upgrade

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/internal/unconfined"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/confine"
)

// The hostile-volume cases as data (issue 12, item 3): what is planted on the volume, what
// appagent runs, and what must hold. A file outside the volume (on the same filesystem, so
// hard links to it can be made) must never change.
func TestHostileVolume(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the rich tree needs several owners: run as root")
	}
	root1, root2 := richImage(t, false), richImage(t, true)
	cfgOf := func(root string) *config.Config {
		p := filepath.Join(root, "etc/appagent/appagent.yaml")
		cfg, rep := config.Parse(p, []byte(read(t, p)))
		if rep.HasErrors() {
			t.Fatal(rep.Err())
		}
		return cfg
	}
	cfg1, cfg2 := cfgOf(root1), cfgOf(root2)
	populated := func(vol string) {
		if _, out, err := syncVol(t, root1, vol, cfg1); err != nil {
			t.Fatalf("populate: %v\n%s", err, out)
		}
	}
	cases := []struct {
		name  string
		plant func(vol, outside string) // outside: a file outside the volume, "B1", 0600 1000:1000
		run   func(vol string) (string, error)
		err   string // the error must contain it ("" = no error)
		check func(t *testing.T, vol string)
		// landlock: the case holds only where migrations run confined (agent/confine).
		landlock bool
	}{
		{
			name: "the lock is a hard link to a file outside",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/.appagent", 0o700)
				if err := os.Link(outside, vol+"/.appagent/lock"); err != nil {
					t.Fatal(err)
				}
			},
			run: lockVol,
			err: "has 2 names",
		},
		{
			name: "a chmod path is a hard link to a file outside",
			plant: func(vol, outside string) {
				populated(vol)
				os.Remove(vol + "/etc/app/b.conf")
				if err := os.Link(outside, vol+"/etc/app/b.conf"); err != nil {
					t.Fatal(err)
				}
			},
			run: syncWith(t, root2, cfg2),
			check: func(t *testing.T, vol string) {
				var st unix.Stat_t
				unix.Lstat(vol+"/etc/app/b.conf", &st)
				if st.Mode&0o7777 != 0o640 || st.Gid != 33 || st.Nlink != 1 {
					t.Errorf("b.conf on the volume: mode %o gid %d links %d, want its own file at 640, group 33", st.Mode&0o7777, st.Gid, st.Nlink)
				}
			},
		},
		{
			name: "a listed path is a planted symlink while a population is in progress",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/.appagent", 0o700)
				os.MkdirAll(vol+"/etc", 0o755)
				if err := os.Symlink(filepath.Dir(outside), vol+"/etc/app"); err != nil {
					t.Fatal(err)
				}
				v, _ := openVFS(vol)
				defer v.Close()
				// This image's own population, interrupted: its listed paths are taken as done.
				writeTxn(v, &txn{Op: KindPopulate, To: readBuildIDFile(t, root1), Paths: []string{"etc/app", "var/lib/app"}, Started: time.Now()})
			},
			run: syncWith(t, root1, cfg1),
			err: "/etc/app is a symlink on the volume where the image has a dir",
		},
		{
			name: "a name with a newline in the volume's manifest and on the volume",
			plant: func(vol, outside string) {
				populated(vol)
				// A tampered manifest lists the name; the volume has another version of it:
				// the upgrade warns about it ("keep"), and must not print a line of its own.
				name := "etc/app/x\nappagent: volume is up to date"
				m := read(t, vol+"/.appagent/manifest.json")
				entry := `{"path":"` + strings.ReplaceAll(name, "\n", `\n`) + `","type":"file","mode":420,"uid":0,"gid":0,"size":1,"sha256":"00"},` + "\n"
				m = strings.Replace(m, `"entries":[`+"\n", `"entries":[`+"\n"+entry, 1)
				write(t, vol+"/.appagent/manifest.json", m)
				write(t, vol+"/"+name, "the user's")
			},
			run: func(vol string) (string, error) {
				_, out, err := syncVol(t, root2, vol, cfg2)
				if !strings.Contains(out, `/etc/app/x\nappagent: volume is up to date"`) {
					t.Errorf("the upgrade does not warn about the name, quoted:\n%s", out)
				}
				return out, err
			},
		},
		{
			name: "the txn is a fifo (never opened: no hang)",
			plant: func(vol, outside string) {
				populated(vol)
				os.Remove(vol + "/.appagent/build-id")
				unix.Mkfifo(vol+"/.appagent/txn", 0o600)
			},
			run: syncWith(t, root1, cfg1),
			err: "/.appagent/txn is not a regular file",
		},
		{
			name: "the build id is a character device",
			plant: func(vol, outside string) {
				populated(vol)
				os.Remove(vol + "/.appagent/build-id")
				if err := unix.Mknod(vol+"/.appagent/build-id", unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
					t.Fatal(err)
				}
			},
			run: syncWith(t, root2, cfg2),
			err: "/.appagent/build-id is not a regular file",
		},
		{
			name: "the lock is a socket",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/.appagent", 0o700)
				fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
				defer unix.Close(fd)
				if err := unix.Bind(fd, &unix.SockaddrUnix{Name: vol + "/.appagent/lock"}); err != nil {
					t.Fatal(err)
				}
			},
			run: lockVol,
			err: "/.appagent/lock is not a regular file",
		},
		{
			name: "a sparse manifest of 200 MB",
			plant: func(vol, outside string) {
				populated(vol)
				os.Truncate(vol+"/.appagent/manifest.json", 200<<20)
				os.Remove(vol + "/.appagent/build-id") // not up to date: the manifest is read
			},
			run: syncWith(t, root2, cfg2),
			err: "more than the 134217728 this state file may have",
		},
		{
			name: "a format file with a line of its own",
			plant: func(vol, outside string) {
				populated(vol)
				write(t, vol+"/.appagent/format", "1\nappagent: volume is up to date\n")
			},
			run: syncWith(t, root2, cfg2),
			err: "/.appagent/format",
		},
		{
			name: "a user's file with an invalid UTF-8 name under a listed path",
			plant: func(vol, outside string) {
				populated(vol)
				write(t, vol+"/etc/app/bad\xff\xfe", "the user's")
			},
			run: syncWith(t, root2, cfg2),
			check: func(t *testing.T, vol string) {
				if got := read(t, vol+"/etc/app/bad\xff\xfe"); got != "the user's" {
					t.Errorf("the user's file with an invalid UTF-8 name: %q", got)
				}
			},
		},
		{
			name: "a listed path is a symlink to a directory outside on an adopted volume",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/var/lib", 0o755)
				os.Symlink(filepath.Dir(outside), vol+"/var/lib/app")
			},
			run: func(vol string) (string, error) {
				var out bytes.Buffer
				_, err := Sync(Options{Config: cfg1, Root: root1, Volume: vol, Out: &out, Adopt: true})
				return out.String(), err
			},
			check: func(t *testing.T, vol string) {
				if fi, err := os.Lstat(vol + "/var/lib/app"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the planted symlink was replaced or followed: %v %v", fi, err)
				}
			},
		},
		{
			name: "a file the upgrade replaces is a symlink to a file outside",
			plant: func(vol, outside string) {
				populated(vol)
				os.Remove(vol + "/etc/app/a.conf")
				os.Symlink(outside, vol+"/etc/app/a.conf")
			},
			run: syncWith(t, root2, cfg2),
			check: func(t *testing.T, vol string) {
				if got, _ := os.Readlink(vol + "/etc/app/a.conf"); !strings.HasSuffix(got, "/outside") {
					t.Errorf("the user's link was not kept: %q", got)
				}
				if got := read(t, vol+"/etc/app/a.conf.appagent-new"); got != "A2" {
					t.Errorf("a.conf.appagent-new = %q, want the image's A2 beside the link", got)
				}
			},
		},
		{
			name: "a listed directory is a symlink to a directory outside at an upgrade",
			plant: func(vol, outside string) {
				populated(vol)
				os.RemoveAll(vol + "/var/lib/app")
				os.Symlink(filepath.Dir(outside), vol+"/var/lib/app")
			},
			run: syncWith(t, root2, cfg2),
			// The file upgrade skips the blocked path; migration 1-2, confined to the volume,
			// cannot write through the link either, and fails.
			err:      "migrations/1-2 failed",
			landlock: true,
			check: func(t *testing.T, vol string) {
				if fi, err := os.Lstat(vol + "/var/lib/app"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the planted symlink was replaced or followed: %v %v", fi, err)
				}
			},
		},
		{
			name: "a file that becomes a directory is a symlink to /",
			plant: func(vol, outside string) {
				populated(vol)
				os.Remove(vol + "/var/lib/app/db/t1")
				os.Symlink("/", vol+"/var/lib/app/db/t1")
			},
			run: syncWith(t, root2, cfg2),
			check: func(t *testing.T, vol string) {
				if _, err := os.Lstat("/inner"); err == nil {
					t.Errorf("the upgrade wrote /inner through the link")
				}
			},
		},
		{
			name: "the build id is a symlink to a file outside",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/.appagent", 0o700)
				os.Symlink(outside, vol+"/.appagent/build-id")
			},
			run: lockThenSync(t, root1, cfg1),
			err: ".appagent/build-id is not a regular file; remove it",
		},
		{
			name: "the manifest is a fifo",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/.appagent", 0o700)
				unix.Mkfifo(vol+"/.appagent/manifest.json", 0o600)
			},
			run: lockThenSync(t, root1, cfg1),
			err: ".appagent/manifest.json is not a regular file; remove it",
		},
		{
			name: "the lock is a symlink to /etc/shadow",
			plant: func(vol, outside string) {
				os.MkdirAll(vol+"/.appagent", 0o700)
				os.Symlink("/etc/shadow", vol+"/.appagent/lock")
			},
			run: lockThenSync(t, root1, cfg1),
			err: ".appagent/lock is not a regular file; remove it",
		},
		{
			name: "the state directory is a symlink to a directory outside",
			plant: func(vol, outside string) {
				os.Symlink(filepath.Dir(outside), vol+"/.appagent")
			},
			run: lockThenSync(t, root1, cfg1),
			err: ".appagent exists and is not a directory; move it away",
		},
	}
	// The volume and the file outside share a filesystem (for the hard links) outside
	// agent/confine's scratch directories (t.TempDir is under /tmp, where a migration may
	// write).
	scratchFree := func(t *testing.T) string { return unconfined.Dir(t) }
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.landlock && confine.ABI() == 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("Landlock is not available on this CI machine")
				}
				t.Skip("Landlock is not available here: migrations run unconfined")
			}
			vol := scratchFree(t)
			outsideDir := scratchFree(t)
			outside := filepath.Join(outsideDir, "outside")
			if err := os.WriteFile(outside, []byte("B1"), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chown(outside, 1000, 1000)
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			os.Chtimes(outside, at, at)
			before := fullSnapshot(t, outsideDir)
			c.plant(vol, outside)
			out, err := c.run(vol)
			// No name from the volume starts a line of its own (a fake "appagent: …").
			all := out
			if err != nil {
				all += "\n" + err.Error()
			}
			for _, l := range strings.Split(all, "\n") {
				if strings.HasPrefix(l, "appagent: volume is up to date") {
					t.Errorf("a name from the volume made a line of its own:\n%s", out)
				}
			}
			if strings.Contains(out, "x\nappagent") || (err != nil && strings.Contains(err.Error(), "x\nappagent")) {
				t.Errorf("a name with a newline was printed unquoted:\n%s %v", out, err)
			}
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("error: %v\n%s", err, out)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want one containing %q\n%s", err, c.err, out)
			}
			// The outside file's content, mode, owner and times: untouched (its link count
			// may differ, the planted link is on the volume).
			after := fullSnapshot(t, outsideDir)
			if strip(after) != strip(before) {
				t.Errorf("the file outside the volume changed:\n%s", diffLines(strip(before), strip(after)))
			}
			if c.check != nil {
				c.check(t, vol)
			}
		})
	}
}

// lockVol takes and releases the volume's lock.
func lockVol(vol string) (string, error) {
	f, err := Lock(vol)
	if f != nil {
		f.Close()
	}
	return "", err
}

// lockThenSync takes the volume's lock, as init does, and populates or upgrades it.
func lockThenSync(t *testing.T, root string, cfg *config.Config) func(vol string) (string, error) {
	return func(vol string) (string, error) {
		f, err := Lock(vol)
		if err != nil {
			return "", err
		}
		defer f.Close()
		_, out, err := syncVol(t, root, vol, cfg)
		return out, err
	}
}

// syncWith runs Sync with an image.
func syncWith(t *testing.T, root string, cfg *config.Config) func(vol string) (string, error) {
	return func(vol string) (string, error) {
		_, out, err := syncVol(t, root, vol, cfg)
		return out, err
	}
}

// strip drops the link-identity notes of a snapshot.
func strip(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, " link="); i >= 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
