package preflight

import (
	"strings"
	"syscall"
	"testing"
)

// Docker's mount tables on this project's hybrid host (Docker hides /sys/fs/cgroup/unified),
// with the flags given: the tables the Docker integration tests boot with.
const (
	dockerV1Cgroup = `30 1 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755
31 30 0:31 /docker/abc /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec - cgroup cgroup rw,name=systemd
`
	dockerV1CgroupRW = `30 1 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755
31 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec - cgroup cgroup rw,name=systemd
`
	runTmpfs = "40 1 0:40 / /run rw,nosuid,nodev,noexec - tmpfs tmpfs rw,size=65536k\n"
	// podman --userns=auto --systemd=always on the hybrid host: systemd's hierarchy mounted
	// read-write, but owned by the host's root.
	podmanUserNS = `50 1 0:50 / /run rw - tmpfs tmpfs rw
51 1 0:51 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755,uid=1000000,gid=1000000
52 51 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
53 1 0:53 / /data rw - ext4 /dev/vda rw
` + apiLines + runLock
)

func TestFlagLine(t *testing.T) {
	docker := map[string]string{"/.dockerenv": "", "/proc/self/status": capsDefault, "/proc/self/cgroup": "1:name=systemd:/docker/abc\n"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name     string
		f        fake
		wantLine string
		fixLacks string // no fix may name this (a flag that was already given)
		msgHas   map[string]string
	}{
		{
			name:     "docker, no flags",
			f:        fake{files: with(docker, "/proc/self/mountinfo", apiLines+dockerV1Cgroup), dirs: map[string]bool{"/data": true}, readOnly: map[string]error{"/sys/fs/cgroup/systemd": syscall.EROFS}},
			wantLine: "--tmpfs /run --tmpfs /run/lock --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw",
			msgHas:   map[string]string{"cgroup": "read-only"},
		},
		{
			// The case: the fixes of run-tmpfs and cgroup given, /run/lock forgotten.
			name:     "docker with --tmpfs /run and the cgroup flags",
			f:        fake{files: with(docker, "/proc/self/mountinfo", apiLines+runTmpfs+dockerV1CgroupRW), dirs: map[string]bool{"/data": true}},
			wantLine: "--tmpfs /run/lock",
			msgHas:   map[string]string{"api-mounts": "Failed to mount tmpfs at /run/lock"},
		},
		{
			name:     "docker with every flag",
			f:        fake{files: with(docker, "/proc/self/mountinfo", apiLines+runTmpfs+runLock+dockerV1CgroupRW), dirs: map[string]bool{"/data": true}},
			wantLine: "",
		},
		{
			name: "podman --userns=auto --systemd=always on a hybrid host",
			f: fake{files: map[string]string{"/run/.containerenv": "", "/proc/self/status": capsDefault, "/proc/self/mountinfo": podmanUserNS,
				"/proc/self/cgroup": "1:name=systemd:/libpod_parent/libpod-abc\n", "/proc/self/uid_map": "         0    1000000      65534\n"},
				dirs:     map[string]bool{"/data": true, "/sys/fs/cgroup/systemd/libpod_parent/libpod-abc": true},
				readOnly: map[string]error{"/sys/fs/cgroup/systemd/libpod_parent/libpod-abc": syscall.EACCES}},
			wantLine: "",
			fixLacks: "--systemd=always",
			msgHas:   map[string]string{"cgroup": "user namespace (its root is uid 1000000 on the host)"},
		},
	}
	cases = append(cases, struct {
		name     string
		f        fake
		wantLine string
		fixLacks string
		msgHas   map[string]string
	}{
		name: "rootless podman --systemd=always on a hybrid host",
		f: fake{files: map[string]string{"/run/.containerenv": "", "/proc/self/status": capsDefault, "/proc/self/mountinfo": podmanUserNS,
			"/proc/self/cgroup": "1:name=systemd:/\n", "/proc/self/uid_map": "         0       1001          1\n         1     100000      65536\n"},
			dirs:     map[string]bool{"/data": true},
			readOnly: map[string]error{"/sys/fs/cgroup/systemd": syscall.EACCES}},
		fixLacks: "oci-hook",
		msgHas:   map[string]string{"cgroup": "runs rootless, in the user namespace of host uid 1001"},
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := Check(testConfig(false), tc.f.system())
			if got := rs.FlagLine(); got != tc.wantLine {
				t.Errorf("FlagLine() = %q, want %q\n%s", got, tc.wantLine, dump(rs))
			}
			for _, r := range rs {
				if tc.fixLacks != "" && strings.Contains(r.Fix, tc.fixLacks) {
					t.Errorf("%s: the fix names %s, which was given: %s", r.Check, tc.fixLacks, r.Fix)
				}
				if s := tc.msgHas[r.Check]; s != "" && !strings.Contains(r.Message, s) {
					t.Errorf("%s: message %q lacks %q", r.Check, r.Message, s)
				}
			}
			for check := range tc.msgHas {
				found := false
				for _, r := range rs {
					found = found || r.Check == check && r.Severity == Fail
				}
				if !found {
					t.Errorf("%s did not fail:\n%s", check, dump(rs))
				}
			}
		})
	}
}

func TestDetectCgroupMode(t *testing.T) {
	cases := []struct {
		mounts string
		want   CgroupMode
	}{
		{mountsPodmanV2, CgroupV2},
		{mountsNspawn, CgroupHybrid},
		{dockerV1Cgroup, CgroupV1},
		{"1 0 0:1 / / rw - overlay o rw\n", CgroupUnknown},
	}
	for _, tc := range cases {
		ms, err := ParseMountinfo(tc.mounts)
		if err != nil {
			t.Fatal(err)
		}
		if got := DetectCgroupMode(ms); got != tc.want {
			t.Errorf("DetectCgroupMode(%.60q…) = %s, want %s", tc.mounts, got, tc.want)
		}
	}
}

func TestReadUserNS(t *testing.T) {
	cases := []struct {
		uidMap string
		want   userNS
	}{
		{"         0          0 4294967295\n", userNS{hostRoot: 0}},
		{"         0    1000000      65534\n", userNS{inner: true, hostRoot: 1000000}},
		{"         0       1001          1\n         1     100000      65536\n", userNS{inner: true, hostRoot: 1001, rootless: true}},
		{"      1000       1000          1\n", userNS{inner: true, hostRoot: -1}}, // root unmapped
		{"", userNS{inner: true, hostRoot: -1}},
	}
	for _, tc := range cases {
		f := fake{files: map[string]string{"/proc/self/uid_map": tc.uidMap}}
		if got := readUserNS(f.system()); got != tc.want {
			t.Errorf("readUserNS(%q) = %+v, want %+v", tc.uidMap, got, tc.want)
		}
	}
	if got := readUserNS((&fake{}).system()); got.inner {
		t.Errorf("an unreadable uid_map counts as a user namespace: %+v", got)
	}
}
