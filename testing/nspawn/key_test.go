package nspawn

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestKey(t *testing.T) {
	base := Key()
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"order does not count", []string{"curl", "less"}, []string{"less", "curl"}, true},
		{"duplicates do not count", []string{"curl", "curl"}, []string{"curl"}, true},
		{"base packages are implied", []string{"systemd", "dbus"}, nil, true},
		{"blank names do not count", []string{" ", ""}, nil, true},
		{"another package is another root", []string{"curl"}, nil, false},
		{"packages differ", []string{"curl"}, []string{"wget"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := Key(tt.a...), Key(tt.b...)
			if (ka == kb) != tt.same {
				t.Errorf("Key(%v) = %s, Key(%v) = %s; same = %v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.same)
			}
			if len(ka) != 16 {
				t.Errorf("Key(%v) = %q: want 16 hex digits", tt.a, ka)
			}
		})
	}
	t.Run("mirror is a debootstrap argument", func(t *testing.T) {
		t.Setenv("APPAGENT_TEST_MIRROR", "http://mirror.invalid/debian")
		if Key() == base {
			t.Errorf("Key() did not change with the mirror")
		}
	})
}

func TestPackagesAndArgs(t *testing.T) {
	got := Packages("less", "curl", "dbus")
	want := []string{"curl", "dbus", "less", "systemd", "systemd-sysv"}
	if !slices.Equal(got, want) {
		t.Errorf("Packages = %v, want %v", got, want)
	}
	args := DebootstrapArgs("/T", "curl")
	wantArgs := []string{"--variant=minbase", "--include=curl,dbus,systemd,systemd-sysv", Suite(), "/T", DefaultMirror}
	if os.Getenv("APPAGENT_TEST_MIRROR") == "" && !slices.Equal(args, wantArgs) {
		t.Errorf("DebootstrapArgs = %v, want %v", args, wantArgs)
	}
}

func TestWriteFiles(t *testing.T) {
	root := t.TempDir()
	err := WriteFiles(root, map[string]string{
		"/etc/appagent/appagent.yaml": "volume: {path: /data}\n",
		"/usr/local/bin/hook":         "#!/bin/sh\nexit 0\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{"etc/appagent/appagent.yaml": 0o644, "usr/local/bin/hook": 0o755} {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), mode)
		}
	}
	for _, bad := range []string{"relative/file", "/etc/../../escape", "/a/./b"} {
		if err := WriteFiles(root, map[string]string{bad: "x"}); err == nil {
			t.Errorf("WriteFiles(%q) = nil, want an error for a path that is not clean and absolute", bad)
		}
	}
}
