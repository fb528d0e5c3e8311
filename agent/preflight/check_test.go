package preflight

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/upgrade"
)

// Mount tables seen in real runtimes (trimmed to the lines the checks read). apiLines are
// the API file systems every runtime mounts; /run/lock is podman's and nspawn's only.
const (
	apiLines = `20 1 0:20 / /proc rw,nosuid,nodev,noexec - proc proc rw
21 1 0:21 / /sys ro,nosuid,nodev,noexec - sysfs sysfs ro
22 1 0:22 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
23 22 0:23 / /dev/shm rw,nosuid,nodev,noexec - tmpfs shm rw,size=65536k
`
	runLock = "24 1 0:24 / /run/lock rw,nosuid,nodev,noexec - tmpfs tmpfs rw,size=5120k\n"

	// systemd-nspawn on this project's hybrid-cgroup hosts.
	mountsNspawn = `512 480 254:0 /var/lib/c /  rw,relatime - ext4 /dev/vda rw
513 512 0:50 / /run rw,nosuid,nodev - tmpfs tmpfs rw,mode=755
514 512 0:51 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
515 514 0:37 /c /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,name=systemd
516 514 0:38 /c /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
517 512 254:0 /tmp/vol /data rw,relatime - ext4 /dev/vda rw
` + apiLines + runLock
	// podman --systemd=always on cgroup v2.
	mountsPodmanV2 = `600 590 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
601 600 0:61 / /run rw,nosuid,nodev - tmpfs tmpfs rw,size=65536k
602 600 0:62 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
603 600 0:63 / /data rw,relatime - ext4 /dev/vdb rw
` + apiLines + runLock
	// docker-like: no tmpfs on /run, cgroup2 read-only, no volume.
	mountsDockerLike = `700 690 0:70 / / rw,relatime - overlay overlay rw
701 700 0:72 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup ro
` + apiLines
)

const (
	capsRoot    = "CapEff:\t000001ffffffffff\n" // includes CAP_SYS_ADMIN
	capsDefault = "CapEff:\t00000000a80425fb\n" // docker's default set: no CAP_SYS_ADMIN
)

type fakeFile struct{ dir bool }

func (f fakeFile) Name() string { return "x" }
func (f fakeFile) Size() int64  { return 0 }
func (f fakeFile) Mode() fs.FileMode {
	return map[bool]fs.FileMode{true: fs.ModeDir | 0o755, false: 0o644}[f.dir]
}
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.dir }
func (f fakeFile) Sys() any           { return nil }

type fake struct {
	files    map[string]string
	env      map[string]string
	dirs     map[string]bool // existing directories
	readOnly map[string]error
	probe    error
	avail    uint64
	total    uint64
	freeErr  error
	host     string
}

func (f *fake) system() *System {
	return &System{
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := f.files[p]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		Getenv: func(n string) string { return f.env[n] },
		Stat: func(p string) (fs.FileInfo, error) {
			if f.dirs[p] {
				return fakeFile{dir: true}, nil
			}
			if _, ok := f.files[p]; ok {
				return fakeFile{}, nil
			}
			return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
		},
		Access:   func(p string) error { return f.readOnly[p] },
		Probe:    func(string) error { return f.probe },
		Free:     func(string) (uint64, uint64, error) { return f.avail, f.total, f.freeErr },
		Hostname: func() (string, error) { return f.host, nil },
		Glob:     func(string) ([]string, error) { return nil, nil },
	}
}

func testConfig(requireMount bool) *config.Config {
	return &config.Config{File: "/etc/appagent/appagent.yaml", Volume: config.Volume{Path: "/data", RequireMount: requireMount}}
}

func severities(rs Results) map[string]Severity {
	m := map[string]Severity{}
	for _, r := range rs {
		m[r.Check] = r.Severity
	}
	return m
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name     string
		f        fake
		require  bool
		want     map[string]Severity
		fixHas   map[string]string // check -> substring of its fix
		msgHas   map[string]string
		failWant bool
	}{
		{
			name: "nspawn hybrid",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsNspawn, "/proc/self/status": capsRoot,
				"/proc/self/cgroup": "1:name=systemd:/\n0::/\n"},
				env: map[string]string{"container": "systemd-nspawn"}, dirs: map[string]bool{"/data": true, "/sys/fs/cgroup/systemd": true}},
			want: map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Pass, "volume-writable": Pass},
		},
		{
			name: "nsenter'd from outside the container's cgroup (doctor via nsenter)",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsNspawn, "/proc/self/status": capsRoot,
				"/proc/self/cgroup": "1:name=systemd:/..\n0::/..\n"},
				dirs:     map[string]bool{"/data": true, "/sys/fs/cgroup/systemd": true, "/sys/fs/cgroup": true},
				readOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}},
			want: map[string]Severity{"cgroup": Pass},
		},
		{
			name: "podman systemd=always cgroup v2",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault,
				"/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true}},
			want: map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Pass, "volume-writable": Pass},
		},
		{
			name: "podman systemd=false: no tmpfs on /run, read-only cgroup, no volume",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsDockerLike, "/proc/self/status": capsDefault,
				"/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true},
				readOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}},
			want:     map[string]Severity{"run-tmpfs": Fail, "cgroup": Fail, "volume-mount": Warn, "volume-writable": Pass},
			fixHas:   map[string]string{"run-tmpfs": "--systemd=always", "cgroup": "--systemd=always", "volume-mount": "podman run -v NAME:/data"},
			msgHas:   map[string]string{"run-tmpfs": "Failed to mount tmpfs at /run", "cgroup": "read-only"},
			failWant: true,
		},
		{
			name: "docker without flags",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsDockerLike, "/proc/self/status": capsDefault,
				"/proc/self/cgroup": "0::/\n", "/.dockerenv": ""}, dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true},
				readOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}},
			want:     map[string]Severity{"run-tmpfs": Fail, "cgroup": Fail, "volume-mount": Warn},
			fixHas:   map[string]string{"run-tmpfs": "--tmpfs /run", "cgroup": "--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw"},
			failWant: true,
		},
		{
			name: "kubernetes",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsDockerLike, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n"},
				env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"run-tmpfs": Fail},
			fixHas:   map[string]string{"run-tmpfs": "emptyDirs with medium: Memory at /run, /run/lock", "volume-mount": "PersistentVolumeClaim"},
			failWant: true,
		},
		{
			name: "privileged: no mounts but CAP_SYS_ADMIN",
			f: fake{files: map[string]string{"/proc/self/mountinfo": "1 0 0:1 / / rw - overlay overlay rw\n", "/proc/self/status": capsRoot},
				dirs: map[string]bool{"/data": true}},
			want: map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Warn},
		},
		{
			name:    "volume not a mount and the image requires one",
			require: true,
			f: fake{files: map[string]string{"/proc/self/mountinfo": strings.Replace(mountsPodmanV2, "/data", "/other", 1), "/proc/self/status": capsDefault,
				"/proc/self/cgroup": "0::/\n"}, dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"run-tmpfs": Pass, "cgroup": Pass, "volume-mount": Fail},
			msgHas:   map[string]string{"volume-mount": "volume.require_mount"},
			failWant: true,
		},
		{
			name: "anonymous volume (the image's VOLUME, no -v)",
			f: fake{files: map[string]string{"/proc/self/mountinfo": strings.Replace(mountsPodmanV2, "603 600 0:63 / /data", "603 600 0:63 /var/lib/containers/storage/volumes/d096abddb3bdde67d412bbf1fa10dc1d1c27c41287c7e45fe5072ba3138d3e2b/_data /data", 1),
				"/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, dirs: map[string]bool{"/data": true}},
			want:   map[string]Severity{"volume-mount": Warn},
			msgHas: map[string]string{"volume-mount": "is an anonymous volume"},
			fixHas: map[string]string{"volume-mount": "-v NAME:/data"},
		},
		{
			name:    "anonymous volume, and the image requires a mount",
			require: true,
			f: fake{files: map[string]string{"/proc/self/mountinfo": strings.Replace(mountsPodmanV2, "603 600 0:63 / /data", "603 600 0:63 /var/lib/docker/volumes/693f953c562f39c3afb1edda6c61bef30e2bf6794fe5946f2bb06c200a3a1fc1/_data /data", 1),
				"/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n"}, dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"volume-mount": Fail},
			msgHas:   map[string]string{"volume-mount": "volume.require_mount"},
			failWant: true,
		},
		{
			name: "a named volume is fine",
			f: fake{files: map[string]string{"/proc/self/mountinfo": strings.Replace(mountsPodmanV2, "603 600 0:63 / /data", "603 600 0:63 /var/lib/containers/storage/volumes/wiki-data/_data /data", 1),
				"/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n"}, dirs: map[string]bool{"/data": true}},
			want: map[string]Severity{"volume-mount": Pass},
		},
		{
			name: "volume read-only",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n"},
				dirs: map[string]bool{"/data": true}, probe: &fs.PathError{Op: "open", Path: "/data/x", Err: syscall.EROFS}},
			want:     map[string]Severity{"volume-writable": Fail},
			fixHas:   map[string]string{"volume-writable": "drop :ro"},
			failWant: true,
		},
		{
			name: "volume owned by another user namespace",
			f: fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n"},
				dirs: map[string]bool{"/data": true}, probe: &fs.PathError{Op: "open", Path: "/data/x", Err: syscall.EACCES}},
			want:     map[string]Severity{"volume-writable": Fail},
			fixHas:   map[string]string{"volume-writable": ":U"},
			failWant: true,
		},
		{
			name: "cgroup v1 without systemd's hierarchy",
			f: fake{files: map[string]string{"/proc/self/mountinfo": "1 0 0:1 / / rw - overlay o rw\n2 1 0:2 / /run rw - tmpfs t rw\n3 1 0:3 / /sys/fs/cgroup ro - tmpfs t ro\n4 3 0:4 / /sys/fs/cgroup/memory rw - cgroup c rw,memory\n" + apiLines + runLock,
				"/proc/self/status": capsDefault}, dirs: map[string]bool{"/data": true}},
			want:     map[string]Severity{"cgroup": Fail},
			failWant: true,
		},
		{
			name: "no /proc: warn, do not block",
			f:    fake{dirs: map[string]bool{"/data": true}},
			want: map[string]Severity{"mountinfo": Warn, "capabilities": Warn, "volume-writable": Pass},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := Check(testConfig(tc.require), tc.f.system())
			got := severities(rs)
			for check, sev := range tc.want {
				if got[check] != sev {
					t.Errorf("%s: got %q, want %q\n%s", check, got[check], sev, dump(rs))
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

func dump(rs Results) string {
	var b strings.Builder
	rs.Write(&b)
	return b.String()
}

func TestDetectRuntime(t *testing.T) {
	cases := []struct {
		f    fake
		want Runtime
	}{
		{fake{env: map[string]string{"container": "podman"}}, Podman},
		{fake{files: map[string]string{"/run/.containerenv": ""}}, Podman},
		{fake{files: map[string]string{"/.dockerenv": ""}}, Docker},
		{fake{env: map[string]string{"container": "docker"}}, Docker},
		{fake{env: map[string]string{"container": "podman", "KUBERNETES_SERVICE_HOST": "x"}}, Kubernetes},
		{fake{env: map[string]string{"container": "systemd-nspawn"}}, Nspawn},
		{fake{}, Unknown},
	}
	for _, tc := range cases {
		if got := DetectRuntime(tc.f.system()); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.f, got, tc.want)
		}
	}
}

type fakeUnits struct {
	state  string
	load   map[string]string
	err    error
	failed []string
	status map[string]int32
	props  map[string]map[string]string
}

func (u fakeUnits) SystemState(context.Context) (string, error) { return u.state, u.err }
func (u fakeUnits) LoadState(_ context.Context, n string) (string, error) {
	if s, ok := u.load[n]; ok {
		return s, nil
	}
	return "loaded", nil
}
func (u fakeUnits) Failed(context.Context) ([]string, error) {
	if u.failed != nil {
		return u.failed, nil
	}
	return []string{"x.service"}, nil
}
func (u fakeUnits) ExitStatus(_ context.Context, unit string) (int32, error) {
	return u.status[unit], nil
}
func (u fakeUnits) Properties(_ context.Context, unit string, _ []string) (map[string]string, error) {
	return u.props[unit], nil
}

func TestDoctor(t *testing.T) {
	base := fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": ""}, dirs: map[string]bool{"/data": true}, avail: 50 << 30, total: 100 << 30, host: "wiki.example.org",
		env: map[string]string{"FQDN": "wiki.example.org"}}
	cfg := testConfig(false)
	cfg.Identity = "FQDN"
	cfg.Units = []config.Unit{{Name: "mariadb.service"}, {Name: "apache2.service"}}

	rs := Doctor(context.Background(), cfg, base.system(), DoctorOptions{Units: fakeUnits{state: "running"}})
	want := map[string]Severity{"systemd": Pass, "units": Pass, "stop-signal": Info, "journal": Pass, "hostname": Pass,
		"volume-free": Pass, "volume-lock": Info}
	got := severities(rs)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q want %q\n%s", k, got[k], v, dump(rs))
		}
	}

	bad := base
	bad.host = "abc123"
	bad.avail = 1 << 20
	bad.files = map[string]string{"/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"}
	for k, v := range base.files {
		bad.files[k] = v
	}
	rs = Doctor(context.Background(), cfg, bad.system(), DoctorOptions{Units: fakeUnits{state: "degraded", load: map[string]string{"mariadb.service": "masked"}}})
	want = map[string]Severity{"systemd": Warn, "units": Fail, "journal": Warn, "hostname": Warn, "volume-free": Fail}
	got = severities(rs)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("bad %s: got %q want %q\n%s", k, got[k], v, dump(rs))
		}
	}
	for _, r := range rs {
		if r.Check == "units" && !strings.Contains(r.Fix, "container.mask") {
			t.Errorf("masked unit fix: %q", r.Fix)
		}
		if r.Check == "hostname" && !strings.Contains(r.Fix, "--hostname wiki.example.org") {
			t.Errorf("hostname fix: %q", r.Fix)
		}
	}

	rs = Doctor(context.Background(), cfg, base.system(), DoctorOptions{UnitsErr: errors.New("dial unix /run/systemd/private: no such file")})
	if severities(rs)["systemd"] != Info || rs.Failed() {
		t.Errorf("doctor as the container's command (PID 1 is not systemd): systemd must be a note:\n%s", dump(rs))
	}
	running := base
	running.files = map[string]string{"/proc/1/comm": "systemd\n"}
	for k, v := range base.files {
		running.files[k] = v
	}
	rs = Doctor(context.Background(), cfg, running.system(), DoctorOptions{UnitsErr: errors.New("dial unix /run/systemd/private: permission denied")})
	if severities(rs)["systemd"] != Fail {
		t.Errorf("systemd runs but cannot be reached: must fail:\n%s", dump(rs))
	}
}

func TestLockHolders(t *testing.T) {
	locks := "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF\n2: POSIX  ADVISORY  WRITE 7 fe:00:99 0 EOF\n3: -> FLOCK  ADVISORY  WRITE 55 fe:00:1234 0 EOF\n"
	dev := uint64(0xfe<<8 | 0x00)
	got := LockHolders(locks, dev, 1234)
	if len(got) != 1 || got[0] != 4242 {
		t.Fatalf("got %v, want [4242]", got)
	}
	if got := LockHolders(locks, dev, 5); len(got) != 0 {
		t.Fatalf("got %v for another inode", got)
	}
}

func TestCheckLockReal(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/.appagent", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dir + "/.appagent/lock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := &config.Config{Volume: config.Volume{Path: dir}}
	want := Info // the test's PID 1 is not systemd: no container runs
	if pid1IsSystemd(Host(nil)) {
		want = Warn
	}
	if r := checkLock(cfg, Host(nil)); r.Severity != want {
		t.Errorf("unlocked: %+v, want %s", r, want)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if r := checkLock(cfg, Host(nil)); r.Severity != Pass || !strings.Contains(r.Message, "this container") {
		t.Errorf("locked by us: %+v", r)
	}
	f.Close()

	// Both locks as a container holds them; then the keeper is killed.
	keeper, err := upgrade.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := upgrade.AgentLock(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	if r := checkLock(cfg, Host(nil)); r.Severity != Pass || !strings.Contains(r.Message, "keeper pid") || !strings.Contains(r.Message, "agent pid") {
		t.Errorf("both held: %+v", r)
	}
	keeper.Close()
	if r := checkLock(cfg, Host(nil)); r.Severity != Warn || !strings.Contains(r.Message, "only the agent holds the volume") {
		t.Errorf("keeper gone: %+v", r)
	}
}

// A lock planted as a symlink to a file outside the volume: doctor reports it and does not
// follow it (the outside file is not taken for the volume's lock).
func TestCheckLockPlantedLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/.appagent", 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	f, err := os.Create(outside)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir+"/.appagent/lock"); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Volume: config.Volume{Path: dir}}
	r := checkLock(cfg, Host(nil))
	if r.Severity != Fail || !strings.Contains(r.Message, "is not a regular file") || !strings.Contains(r.Fix, "remove "+dir+"/.appagent/lock") {
		t.Errorf("planted link: %+v", r)
	}
}

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
	f.Add(mountsNspawn)
	f.Add(mountsPodmanV2)
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
	f.Add("CapEff:\t000001ffffffffff\n", "1:name=systemd:/a\n0::/\n", "1: FLOCK  ADVISORY  WRITE 1 fe:00:1 0 EOF\n")
	f.Fuzz(func(t *testing.T, status, cgroup, locks string) {
		_, _ = EffectiveCaps(status)
		_, _ = ParseCgroups(cgroup)
		_ = LockHolders(locks, 0xfe00, 1)
	})
}

// doctor promises a fix for each problem: every WARN and FAIL carries one.
func TestDoctorEveryProblemHasAFix(t *testing.T) {
	base := fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": "", "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"},
		dirs: map[string]bool{"/data": true}, avail: 1 << 20, total: 100 << 30, host: "abc123",
		env: map[string]string{"FQDN": "wiki.example.org"}}
	missing := base
	missing.dirs = map[string]bool{}
	missing.freeErr = &fs.PathError{Op: "statfs", Path: "/data", Err: fs.ErrNotExist}
	unreadable := base
	unreadable.freeErr = &fs.PathError{Op: "statfs", Path: "/data", Err: fs.ErrPermission}
	cfg := testConfig(false)
	cfg.Identity = "FQDN"
	cfg.Units = []config.Unit{{Name: "mariadb.service"}}
	for name, f := range map[string]fake{"bad": base, "no volume": missing, "statfs denied": unreadable} {
		for _, o := range []DoctorOptions{
			{Units: fakeUnits{state: "degraded", load: map[string]string{"mariadb.service": "masked"}}},
			{UnitsErr: errors.New("dial unix /run/systemd/private: no such file")},
		} {
			for _, r := range Doctor(context.Background(), cfg, f.system(), o) {
				if (r.Severity == Warn || r.Severity == Fail) && r.Fix == "" {
					t.Errorf("%s: %s %s has no fix: %s", name, r.Severity, r.Check, r.Message)
				}
			}
		}
	}
}

// TestDoctorVolumeRecord: the record check passes, fails with the damage and a fix, and is a
// note (not a failure) before the volume has state.
func TestDoctorVolumeRecord(t *testing.T) {
	base := fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": ""}, dirs: map[string]bool{"/data": true, "/data/.appagent": true}, avail: 50 << 30, total: 100 << 30}
	cfg := testConfig(false)
	record := func(r Results) Result {
		for _, x := range r {
			if x.Check == "volume-record" {
				return x
			}
		}
		t.Fatalf("no volume-record check:\n%s", dump(r))
		return Result{}
	}
	ok := func() (string, error) { return "the volume is at this image's build B", nil }
	if r := record(Doctor(context.Background(), cfg, base.system(), DoctorOptions{Units: fakeUnits{state: "running"}, Record: ok})); r.Severity != Pass || r.Message != "the volume is at this image's build B" {
		t.Errorf("sound: %+v", r)
	}
	damaged := func() (string, error) {
		return "", errors.New("the volume's record /data/.appagent/manifest.json is damaged")
	}
	r := record(Doctor(context.Background(), cfg, base.system(), DoctorOptions{Units: fakeUnits{state: "running"}, Record: damaged}))
	if r.Severity != Fail || !strings.Contains(r.Message, "manifest.json is damaged") || r.Fix == "" {
		t.Errorf("damaged: %+v", r)
	}
	fresh := base
	fresh.dirs = map[string]bool{"/data": true}
	if r := record(Doctor(context.Background(), cfg, fresh.system(), DoctorOptions{Units: fakeUnits{state: "running"}, Record: damaged})); r.Severity != Info {
		t.Errorf("no state yet: %+v", r)
	}
}

// TestDoctorNamespaces: where mount namespaces cannot be made, a unit that failed with 226 is
// a failure naming its settings, a declared unit that needs one a warning, and none a note.
func TestDoctorNamespaces(t *testing.T) {
	base := fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": ""}, dirs: map[string]bool{"/data": true}, avail: 50 << 30, total: 100 << 30}
	cfg := testConfig(false)
	cfg.Units = []config.Unit{{Name: "app.service"}, {Name: "web.service"}}
	find := func(rs Results) Result {
		for _, r := range rs {
			if r.Check == "namespaces" {
				return r
			}
		}
		t.Fatalf("no namespaces check:\n%s", dump(rs))
		return Result{}
	}
	run := func(ns error, u fakeUnits) Result {
		sys := base.system()
		sys.MountNamespace = func() error { return ns }
		return find(Doctor(context.Background(), cfg, sys, DoctorOptions{Units: u}))
	}
	eperm := syscall.EPERM
	if r := run(nil, fakeUnits{state: "running"}); r.Severity != Pass {
		t.Errorf("namespaces available: %+v", r)
	}
	r := run(eperm, fakeUnits{state: "degraded", failed: []string{"x.service"}, status: map[string]int32{"x.service": 226},
		props: map[string]map[string]string{"x.service": {"DynamicUser": "yes", "PrivateTmp": "yes"}}})
	if r.Severity != Fail || !strings.Contains(r.Message, "x.service (DynamicUser=yes) failed with 226/NAMESPACE") || !strings.Contains(r.Fix, "SYS_ADMIN") {
		t.Errorf("a unit failed with 226: %+v", r)
	}
	r = run(eperm, fakeUnits{state: "running", failed: []string{}, props: map[string]map[string]string{"web.service": {"BindPaths": "set"}, "app.service": {"PrivateTmp": "yes"}}})
	if r.Severity != Warn || !strings.Contains(r.Message, "web.service (BindPaths=set)") || strings.Contains(r.Message, "app.service") {
		t.Errorf("a declared unit needs one: %+v", r)
	}
	if r := run(eperm, fakeUnits{state: "running", failed: []string{}}); r.Severity != Info || !strings.Contains(r.Message, "operation not permitted") {
		t.Errorf("no unit needs one: %+v", r)
	}
}
