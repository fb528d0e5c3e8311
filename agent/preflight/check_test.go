package preflight_test

import (
	"io/fs"
	"strings"
	"syscall"
	"testing"

	. "github.com/appagent/appagent/agent/preflight"
	pt "github.com/appagent/appagent/agent/preflight/preflighttest"
)

// Mount tables seen in real runtimes (trimmed to the lines the checks read). pt.APILines are
// the API file systems every runtime mounts; /run/lock is podman's and nspawn's only.
func TestCheck(t *testing.T) {
	cases := []struct {
		name     string
		f        pt.Fake
		require  bool
		want     map[string]Severity
		fixHas   map[string]string // check -> substring of its fix
		msgHas   map[string]string
		failWant bool
	}{
		{
			name: "nspawn hybrid",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsNspawn, "/proc/self/status": pt.CapsRoot,
				"/proc/self/cgroup": "1:name=systemd:/\n0::/\n"},
				Env: map[string]string{"container": "systemd-nspawn"}, Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup/systemd": true}},
			want: map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Pass, "volume-writable": Pass},
		},
		{
			name: "nsenter'd from outside the container's cgroup (doctor via nsenter)",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsNspawn, "/proc/self/status": pt.CapsRoot,
				"/proc/self/cgroup": "1:name=systemd:/..\n0::/..\n"},
				Dirs:     map[string]bool{"/data": true, "/sys/fs/cgroup/systemd": true, "/sys/fs/cgroup": true},
				ReadOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}},
			want: map[string]Severity{"cgroup": Pass},
		},
		{
			name: "podman systemd=always cgroup v2",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault,
				"/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true}},
			want: map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Pass, "volume-writable": Pass},
		},
		{
			name: "podman systemd=false: no tmpfs on /run, read-only cgroup, no volume",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsDockerLike, "/proc/self/status": pt.CapsDefault,
				"/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true},
				ReadOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}},
			want:     map[string]Severity{"run-tmpfs": Fail, "cgroup": Fail, "volume-mount": Warn, "volume-writable": Pass},
			fixHas:   map[string]string{"run-tmpfs": "--systemd=always", "cgroup": "--systemd=always", "volume-mount": "podman run -v NAME:/data"},
			msgHas:   map[string]string{"run-tmpfs": "Failed to mount tmpfs at /run", "cgroup": "read-only"},
			failWant: true,
		},
		{
			name: "docker without flags",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsDockerLike, "/proc/self/status": pt.CapsDefault,
				"/proc/self/cgroup": "0::/\n", "/.dockerenv": ""}, Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true},
				ReadOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}},
			want:     map[string]Severity{"run-tmpfs": Fail, "cgroup": Fail, "volume-mount": Warn},
			fixHas:   map[string]string{"run-tmpfs": "--tmpfs /run", "cgroup": "--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw"},
			failWant: true,
		},
		{
			name: "kubernetes",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsDockerLike, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n"},
				Env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, Dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"run-tmpfs": Fail},
			fixHas:   map[string]string{"run-tmpfs": "emptyDirs with medium: Memory at /run, /run/lock", "volume-mount": "PersistentVolumeClaim"},
			failWant: true,
		},
		{
			name: "privileged: no mounts but CAP_SYS_ADMIN",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": "1 0 0:1 / / rw - overlay overlay rw\n", "/proc/self/status": pt.CapsRoot},
				Dirs: map[string]bool{"/data": true}},
			want: map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Warn},
		},
		{
			name:    "volume not a mount and the image requires one",
			require: true,
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": strings.Replace(pt.MountsPodmanV2, "/data", "/other", 1), "/proc/self/status": pt.CapsDefault,
				"/proc/self/cgroup": "0::/\n"}, Dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Fail},
			msgHas:   map[string]string{"volume-mount": "volume.require_mount"},
			failWant: true,
		},
		{
			name: "anonymous volume (the image's VOLUME, no -v)",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": strings.Replace(pt.MountsPodmanV2, "603 600 0:63 / /data", "603 600 0:63 /var/lib/containers/storage/volumes/d096abddb3bdde67d412bbf1fa10dc1d1c27c41287c7e45fe5072ba3138d3e2b/_data /data", 1),
				"/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true}},
			want:   map[string]Severity{"volume-mount": Warn},
			msgHas: map[string]string{"volume-mount": "is an anonymous volume"},
			fixHas: map[string]string{"volume-mount": "-v NAME:/data"},
		},
		{
			name:    "anonymous volume, and the image requires a mount",
			require: true,
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": strings.Replace(pt.MountsPodmanV2, "603 600 0:63 / /data", "603 600 0:63 /var/lib/docker/volumes/693f953c562f39c3afb1edda6c61bef30e2bf6794fe5946f2bb06c200a3a1fc1/_data /data", 1),
				"/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n"}, Dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"volume-mount": Fail},
			msgHas:   map[string]string{"volume-mount": "volume.require_mount"},
			failWant: true,
		},
		{
			name: "a named volume is fine",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": strings.Replace(pt.MountsPodmanV2, "603 600 0:63 / /data", "603 600 0:63 /var/lib/containers/storage/volumes/wiki-data/_data /data", 1),
				"/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n"}, Dirs: map[string]bool{"/data": true}},
			want: map[string]Severity{"volume-mount": Pass},
		},
		{
			name: "volume read-only",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n"},
				Dirs: map[string]bool{"/data": true}, Probe: &fs.PathError{Op: "open", Path: "/data/x", Err: syscall.EROFS}},
			want:     map[string]Severity{"volume-writable": Fail},
			fixHas:   map[string]string{"volume-writable": "drop :ro"},
			failWant: true,
		},
		{
			name: "volume owned by another user namespace",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n"},
				Dirs: map[string]bool{"/data": true}, Probe: &fs.PathError{Op: "open", Path: "/data/x", Err: syscall.EACCES}},
			want:     map[string]Severity{"volume-writable": Fail},
			fixHas:   map[string]string{"volume-writable": ":U"},
			failWant: true,
		},
		{
			name: "cgroup v1 without systemd's hierarchy",
			f: pt.Fake{Files: map[string]string{"/proc/self/mountinfo": "1 0 0:1 / / rw - overlay o rw\n2 1 0:2 / /run rw - tmpfs t rw\n3 1 0:3 / /sys/fs/cgroup ro - tmpfs t ro\n4 3 0:4 / /sys/fs/cgroup/memory rw - cgroup c rw,memory\n" + pt.APILines + pt.RunLock,
				"/proc/self/status": pt.CapsDefault}, Dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"cgroup": Fail},
			failWant: true,
		},
		{
			name: "no /proc: warn, do not block",
			f:    pt.Fake{Dirs: map[string]bool{"/data": true}},
			want: map[string]Severity{"mountinfo": Warn, "capabilities": Warn, "volume-writable": Pass},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := Check(pt.Config(tc.require), tc.f.System())
			got := pt.Severities(rs)
			for check, sev := range tc.want {
				if got[check] != sev {
					t.Errorf("%s: got %q, want %q\n%s", check, got[check], sev, pt.Dump(rs))
				}
			}
			for _, r := range rs {
				if s := tc.fixHas[r.Check]; s != "" && !strings.Contains(r.Fix, s) {
					t.Errorf("%s: fix %q lacks %q", r.Check, r.Fix, s)
				}
				if s := tc.msgHas[r.Check]; s != "" && !strings.Contains(r.Message, s) {
					t.Errorf("%s: message %q lacks %q", r.Check, r.Message, s)
				}
				if r.Severity == Fail && r.Fix == "" && r.Check != "volume-writable" {
					t.Errorf("%s failed without a fix", r.Check)
				}
			}
			if rs.Failed() != tc.failWant {
				t.Errorf("Failed() = %v, want %v", rs.Failed(), tc.failWant)
			}
		})
	}
}

func TestDetectRuntime(t *testing.T) {
	cases := []struct {
		f    pt.Fake
		want Runtime
	}{
		{pt.Fake{Env: map[string]string{"container": "podman"}}, Podman},
		{pt.Fake{Files: map[string]string{"/run/.containerenv": ""}}, Podman},
		{pt.Fake{Files: map[string]string{"/.dockerenv": ""}}, Docker},
		{pt.Fake{Env: map[string]string{"container": "docker"}}, Docker},
		{pt.Fake{Env: map[string]string{"container": "podman", "KUBERNETES_SERVICE_HOST": "x"}}, Kubernetes},
		{pt.Fake{Env: map[string]string{"container": "systemd-nspawn"}}, Nspawn},
		{pt.Fake{}, Unknown},
	}
	for _, tc := range cases {
		if got := DetectRuntime(tc.f.System()); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.f, got, tc.want)
		}
	}
}

// A lock planted as a symlink to a file outside the volume: doctor reports it and does not
// follow it (the outside file is not taken for the volume's lock).
func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo(`36 35 98:0 /mnt1 /mnt\0402 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
37 36 0:5 / /run ro,nosuid shared:2 master:3 - tmpfs tmpfs rw
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Point != "/mnt 2" || ms[0].FSType != "ext3" || ms[0].Source != "/dev/root" || ms[0].Super != "rw,errors=continue" {
		t.Fatalf("parsed %+v", ms)
	}
	if ms[1].Options != "ro,nosuid" || ms[1].Super != "rw" {
		t.Errorf("options: %+v", ms[1])
	}
	for _, bad := range []string{"1 2 3", "x 1 0:1 / / rw - ext4 a b", "1 1 0:1 / / rw ext4 a b"} {
		if _, err := ParseMountinfo(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add(pt.MountsNspawn)
	f.Add(pt.MountsPodmanV2)
	f.Add(`1 0 0:1 /a\134b /p\011q rw - x y`)
	f.Add(`1 0 0:1 / / rw - `)
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMountinfo(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.FSType == "" {
				t.Fatalf("parsed a mount without a type from %q", s)
			}
			if _, ok := ms.At(m.Point); !ok {
				t.Fatalf("At(%q) finds no mount though one is there", m.Point)
			}
		}
	})
}

func FuzzParseProc(f *testing.F) {
	f.Add("CapEff:\t000001ffffffffff\n", "1:name=systemd:/a\n0::/\n")
	f.Fuzz(func(t *testing.T, status, cgroup string) {
		_, _ = EffectiveCaps(status)
		_, _ = ParseCgroups(cgroup)
	})
}

// doctor promises a fix for each problem: every WARN and FAIL carries one.
// TestDoctorVolumeRecord: the record check passes, fails with the damage and a fix, and is a
// note (not a failure) before the volume has state.
// TestDoctorNamespaces: where mount namespaces cannot be made, a unit that failed with 226 is
// a failure naming its settings, a declared unit that needs one a warning, and none a note.
