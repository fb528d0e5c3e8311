package ocihook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func fakeHost(t *testing.T, uidMap, cgroup string) (Host, string) {
	t.Helper()
	root := t.TempDir()
	h := Host{Proc: filepath.Join(root, "proc"), Cgroup: filepath.Join(root, "cg")}
	pd := filepath.Join(h.Proc, "42")
	os.MkdirAll(pd, 0o755)
	os.WriteFile(filepath.Join(pd, "uid_map"), []byte(uidMap), 0o644)
	os.WriteFile(filepath.Join(pd, "gid_map"), []byte(uidMap), 0o644)
	os.WriteFile(filepath.Join(pd, "cgroup"), []byte(cgroup), 0o644)
	dir := filepath.Join(h.Cgroup, "libpod_parent/libpod-abc")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "cgroup.procs"), nil, 0o644)
	return h, dir
}

func TestDelegate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	const cg = "12:pids:/libpod_parent/libpod-abc\n1:name=systemd:/libpod_parent/libpod-abc\n0::/libpod_parent/libpod-abc\n"
	h, dir := fakeHost(t, "         0    1000000      65536\n", cg)
	r, err := Delegate(h, strings.NewReader(`{"ociVersion":"1.0.2","id":"abc","status":"creating","pid":42,"bundle":"/b"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir != dir || r.UID != 1000000 || r.GID != 1000000 || r.Skipped != "" {
		t.Errorf("Delegate = %+v", r)
	}
	for _, p := range []string{dir, filepath.Join(dir, "cgroup.procs")} {
		st, _ := os.Stat(p)
		if s := st.Sys().(*syscall.Stat_t); s.Uid != 1000000 || s.Gid != 1000000 {
			t.Errorf("%s owned by %d:%d, want 1000000:1000000", p, s.Uid, s.Gid)
		}
	}
	if st, _ := os.Stat(filepath.Dir(dir)); st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("the parent cgroup was given away too")
	}
}

func TestDelegateLeavesAlone(t *testing.T) {
	cases := map[string]struct {
		uidMap, cgroup, state string
		wantSkip, wantErr     string
	}{
		"no user namespace":   {"0 0 4294967295\n", "1:name=systemd:/x\n", `{"pid":42}`, "no user namespace", ""},
		"cgroup root":         {"0 1000000 65536\n", "1:name=systemd:/\n", `{"pid":42}`, "", "the root or outside"},
		"dot-dot stays below": {"0 1000000 65536\n", "1:name=systemd:/../../etc\n", `{"pid":42}`, "", "cg/etc"},
		"no pid":              {"0 1000000 65536\n", "1:name=systemd:/x\n", `{"id":"abc"}`, "", "no pid"},
		"not json":            {"0 1000000 65536\n", "1:name=systemd:/x\n", `pid=42`, "", "not the runtime's JSON"},
		"root unmapped":       {"1000 1000 1\n", "1:name=systemd:/x\n", `{"pid":42}`, "", "maps no id 0"},
		"cgroup v2 only":      {"0 1000000 65536\n", "0::/x\n", `{"pid":42}`, "", "no name=systemd line"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h, _ := fakeHost(t, tc.uidMap, tc.cgroup)
			r, err := Delegate(h, strings.NewReader(tc.state))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || r.Skipped != tc.wantSkip {
				t.Errorf("Delegate = %+v, %v; want skipped %q", r, err, tc.wantSkip)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	b, err := Config("/usr/bin/appagent")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version string `json:"version"`
		Hook    struct {
			Path string   `json:"path"`
			Args []string `json:"args"`
		} `json:"hook"`
		When struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"when"`
		Stages []string `json:"stages"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != "1.0.0" || c.Hook.Path != "/usr/bin/appagent" || strings.Join(c.Hook.Args, " ") != "appagent oci-hook" ||
		c.When.Annotations[`^run\.appagent\.cgroup-delegate$`] != "^true$" || strings.Join(c.Stages, ",") != "createRuntime" {
		t.Errorf("config:\n%s", b)
	}
}

func FuzzDelegateState(f *testing.F) {
	f.Add(`{"pid":42}`)
	f.Add(`{"pid":-1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, state string) {
		h := Host{Proc: t.TempDir(), Cgroup: t.TempDir()}
		_, _ = Delegate(h, strings.NewReader(state)) // must not panic; no pid dir: an error
	})
}
