package replication

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/layout"
)

func TestJudge(t *testing.T) {
	primary := Role{Name: "primary", Ordinal: -1, From: "R=primary"}
	replica := Role{Name: "replica", Primary: "p", Ordinal: -1, From: "R=replica"}
	rec := func(r string) *Record { return &Record{Role: r} }
	for _, c := range []struct {
		name  string
		facts VolumeFacts
		role  Role
		write bool
		note  string // in the note
		err   string // in the error (RoleRefused)
	}{
		{name: "fresh volume, primary", role: primary, write: true},
		{name: "fresh volume, replica", role: replica, write: true},
		{name: "same role again", facts: VolumeFacts{Record: rec("replica"), Configured: true, Joined: true}, role: replica},
		{name: "replica whose join failed starts again", facts: VolumeFacts{Record: rec("replica"), Configured: true}, role: replica},
		{name: "volume from before replication, primary", facts: VolumeFacts{Configured: true}, role: primary, write: true},
		{name: "volume from before replication, replica", facts: VolumeFacts{Configured: true}, role: replica, err: "holds a primary's data"},
		{name: "primary's volume as replica", facts: VolumeFacts{Record: rec("primary"), Configured: true}, role: replica, err: "give the replica a new, empty volume"},
		{name: "primary's volume, first start failed, as replica", facts: VolumeFacts{Record: rec("primary")}, role: replica, err: "holds a primary's data"},
		{name: "unfinished replica as primary", facts: VolumeFacts{Record: rec("replica"), Configured: true}, role: primary, err: "join has not finished"},
		{name: "promotion", facts: VolumeFacts{Record: rec("replica"), Configured: true, Joined: true}, role: primary, write: true, note: "promoted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Judge(c.facts, c.role, "/data")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || exitcode.Of(err) != exitcode.RoleRefused {
					t.Fatalf("error %v (code %d), want one with %q and code %d", err, exitcode.Of(err), c.err, exitcode.RoleRefused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Write != c.write {
				t.Errorf("write %v, want %v", v.Write, c.write)
			}
			if (c.note == "") != (v.Note == "") || !strings.Contains(v.Note, c.note) {
				t.Errorf("note %q, want one with %q", v.Note, c.note)
			}
		})
	}
}

// AtStart on a real directory: the record is written, kept, and a conflicting start changes
// nothing on the volume.
func TestAtStart(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	primary := Role{Name: "primary", Ordinal: -1, From: "R=primary"}
	if err := AtStart(dir, primary, now, &out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, layout.RoleFile))
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil || r.Role != "primary" || !r.Since.Equal(now) || r.From != "R=primary" {
		t.Fatalf("record %s (%v)", data, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, layout.StampsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, layout.StampsDir, layout.ConfiguredStamp), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = AtStart(dir, Role{Name: "replica", Primary: "p", Ordinal: -1, From: "R=replica"}, now.Add(time.Hour), &out)
	if exitcode.Of(err) != exitcode.RoleRefused {
		t.Fatalf("replica on a primary's volume: %v", err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, layout.RoleFile)); !bytes.Equal(again, data) {
		t.Errorf("a refused start changed the record: %s", again)
	}
	// A record that is not one is reported with its path, not taken for a role.
	if err := os.WriteFile(filepath.Join(dir, layout.RoleFile), []byte(`{"role":"boss"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AtStart(dir, primary, now, &out); err == nil || !strings.Contains(err.Error(), layout.RoleFile) {
		t.Errorf("bad record: %v", err)
	}
	// A planted symlink is not followed.
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte(`{"role":"primary"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, layout.RoleFile))
	if err := os.Symlink(outside, filepath.Join(dir, layout.RoleFile)); err != nil {
		t.Fatal(err)
	}
	if err := AtStart(dir, primary, now, &out); err == nil {
		t.Errorf("a symlinked record was read")
	}
}

func TestWriteRuntime(t *testing.T) {
	dir := t.TempDir()
	f := RuntimeFiles{Env: filepath.Join(dir, "role.env"), Replica: filepath.Join(dir, "replica")}
	if err := WriteRuntime(f, Role{Name: "replica", Primary: `wiki-0.wiki"$x`, Ordinal: 1, From: "hostname wiki-1"}); err != nil {
		t.Fatal(err)
	}
	env, _ := os.ReadFile(f.Env)
	for _, want := range []string{`APPAGENT_ROLE="replica"`, `APPAGENT_PRIMARY="wiki-0.wiki\"\$x"`, `APPAGENT_ORDINAL="1"`} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("role.env lacks %s:\n%s", want, env)
		}
	}
	if _, err := os.Stat(f.Replica); err != nil {
		t.Errorf("replica flag: %v", err)
	}
	if err := WriteRuntime(f, Role{Name: "primary", Ordinal: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Replica); !os.IsNotExist(err) {
		t.Errorf("a primary keeps the replica flag: %v", err)
	}
	env, _ = os.ReadFile(f.Env)
	if !strings.Contains(string(env), `APPAGENT_ORDINAL=""`) {
		t.Errorf("role.env:\n%s", env)
	}
}
