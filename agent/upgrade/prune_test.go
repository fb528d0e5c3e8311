package upgrade

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
)

// backupsOn lists the backup directories of vol, oldest first.
func backupsOn(t *testing.T, vol string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(vol, dirBackup))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func mkBackup(t *testing.T, vol, name string, steps []Step) {
	t.Helper()
	dir := filepath.Join(vol, dirBackup, name)
	if err := os.MkdirAll(filepath.Join(dir, "files/etc"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "files/etc/x"), "old")
	if steps != nil {
		data, _ := json.Marshal(steps)
		write(t, filepath.Join(dir, "plan.json"), string(data))
	}
}

func TestPruneBackups(t *testing.T) {
	names := []string{ // oldest first
		"20260101T000000Z-none-to-aaaa",
		"20260102T000000Z-aaaa-to-bbbb",
		"20260103T000000Z-bbbb-to-cccc",
		"20260104T000000Z-cccc-to-dddd",
		"20260105T000000Z-dddd-to-eeee",
		"20260106T000000Z-eeee-to-ffff",
	}
	keepNew := []Step{{Path: "etc/b.conf", Decision: Decision{Action: ActKeepNew}}}
	aside := []Step{{Path: "etc/t", Decision: Decision{Action: ActAside}}}
	tests := []struct {
		name    string
		keep    int
		current string
		setup   func(t *testing.T, vol string)
		want    []string // what remains, oldest first
	}{
		{name: "keep 0 keeps all", keep: 0, want: names},
		{name: "keep 3", keep: 3, want: names[3:]},
		{name: "keep 1", keep: 1, want: names[5:]},
		{name: "more kept than there are", keep: 10, want: names},
		{name: "the current backup is never removed", keep: 1, current: dirBackup + "/" + names[2], want: []string{names[2], names[5]}},
		{name: "unreviewed .appagent-new keeps its backup", keep: 2,
			setup: func(t *testing.T, vol string) {
				mkBackup(t, vol, names[1], keepNew)
				write(t, vol+"/etc/b.conf.appagent-new", "image's")
			},
			want: []string{names[1], names[4], names[5]}},
		{name: "reviewed .appagent-new: pruned", keep: 2,
			setup: func(t *testing.T, vol string) { mkBackup(t, vol, names[1], keepNew) },
			want:  names[4:]},
		{name: "unreviewed .appagent-old keeps its backup", keep: 2,
			setup: func(t *testing.T, vol string) {
				mkBackup(t, vol, names[0], aside)
				write(t, vol+"/etc/t.appagent-old", "user's")
			},
			want: []string{names[0], names[4], names[5]}},
		{name: "a replaced directory still in the backup keeps it", keep: 2,
			setup: func(t *testing.T, vol string) {
				mkBackup(t, vol, names[1], []Step{{Path: "etc", Decision: Decision{Action: ActReplace}, Cur: &Entry{Type: TypeDir}}})
			},
			want: []string{names[1], names[4], names[5]}},
		{name: "a replaced directory deleted from the backup: pruned", keep: 2,
			setup: func(t *testing.T, vol string) {
				mkBackup(t, vol, names[1], []Step{{Path: "etc", Decision: Decision{Action: ActReplace}, Cur: &Entry{Type: TypeDir}}})
				os.RemoveAll(vol + "/" + dirBackup + "/" + names[1] + "/files/etc")
			},
			want: names[4:]},
		{name: "a replaced file does not keep its backup", keep: 2,
			setup: func(t *testing.T, vol string) {
				mkBackup(t, vol, names[1], []Step{{Path: "etc/x", Decision: Decision{Action: ActReplace}, Cur: &Entry{Type: TypeFile}}})
			},
			want: names[4:]},
		{name: "unreadable plan keeps its backup", keep: 2,
			setup: func(t *testing.T, vol string) { write(t, vol+"/"+dirBackup+"/"+names[2]+"/plan.json", "{not json") },
			want:  []string{names[2], names[4], names[5]}},
		{name: "foreign names, links and an interrupted pruning", keep: 1,
			setup: func(t *testing.T, vol string) {
				b := vol + "/" + dirBackup
				os.MkdirAll(b+"/my-own-copy/files", 0o700)
				write(t, b+"/notes.txt", "mine")
				os.Symlink("/", b+"/20250101T000000Z-zzzz-to-yyyy")
				os.MkdirAll(b+"/"+prunePrefix+"20250101T000000Z-xxxx-to-wwww/files/etc", 0o700)
			},
			want: []string{"20250101T000000Z-zzzz-to-yyyy", names[5], "my-own-copy", "notes.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vol := t.TempDir()
			os.MkdirAll(vol+"/etc", 0o755)
			for _, n := range names {
				mkBackup(t, vol, n, []Step{{Path: "etc/x", Decision: Decision{Action: ActReplace}}})
			}
			if tc.setup != nil {
				tc.setup(t, vol)
			}
			v, err := openVFS(vol)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if _, err := pruneBackups(v, tc.keep, tc.current); err != nil {
				t.Fatal(err)
			}
			got := backupsOn(t, vol)
			sort.Strings(tc.want)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("backups left:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if _, err := os.Stat("/"); err != nil {
				t.Fatal("the link's target was touched")
			}
		})
	}
}

// Pruning happens in Sync after each successful upgrade, keeps the newest keep_backups and
// any backup whose .appagent-new files are not reviewed yet.
func TestUpgradePrunesBackups(t *testing.T) {
	yaml := yamlV1 + "  keep_backups: 2\n"
	image := func(n int, b string) (string, *config.Config) {
		files := map[string]string{}
		for k, v := range filesV1 {
			files[k] = v
		}
		files["etc/app/a.conf"] = "A" + string(rune('0'+n))
		files["etc/app/b.conf"] = b
		return testImage(t, files, yaml)
	}
	defer func(f func() time.Time) { timeNow = f }(timeNow)
	clock := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	timeNow = func() time.Time { return clock }

	vol := t.TempDir()
	root, cfg := image(1, "B1")
	if _, out, err := syncVol(t, root, vol, cfg); err != nil {
		t.Fatalf("populate: %v\n%s", err, out)
	}
	write(t, vol+"/etc/app/b.conf", "B-user")
	for n := 2; n <= 5; n++ {
		clock = clock.Add(time.Hour)
		// b.conf changes in v2 while the user changed it: keep+new in the first backup.
		root, cfg := image(n, "B2")
		if _, out, err := syncVol(t, root, vol, cfg); err != nil {
			t.Fatalf("upgrade to v%d: %v\n%s", n, err, out)
		}
	}
	got := backupsOn(t, vol)
	if len(got) != 3 || !strings.HasPrefix(got[0], "20261125T110000Z-") || !strings.HasPrefix(got[1], "20261125T130000Z-") || !strings.HasPrefix(got[2], "20261125T140000Z-") {
		t.Fatalf("after 4 upgrades with keep_backups 2 and an unreviewed .appagent-new in the first: %v", got)
	}

	// Reviewed: the next upgrade prunes the first one too.
	if err := os.Remove(vol + "/etc/app/b.conf.appagent-new"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	root, cfg = image(6, "B2")
	_, out, err := syncVol(t, root, vol, cfg)
	if err != nil {
		t.Fatalf("upgrade to v6: %v\n%s", err, out)
	}
	got = backupsOn(t, vol)
	if len(got) != 2 || !strings.HasPrefix(got[0], "20261125T140000Z-") || !strings.HasPrefix(got[1], "20261125T150000Z-") {
		t.Fatalf("after the review and one more upgrade: %v\n%s", got, out)
	}
	if !strings.Contains(out, "removed the old backup "+vol+"/"+dirBackup+"/20261125T110000Z-") {
		t.Errorf("the removal is not reported:\n%s", out)
	}
}
