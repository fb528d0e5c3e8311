package preflight_test

import (
	"strings"
	"syscall"
	"testing"

	. "github.com/appagent/appagent/agent/preflight"
	pt "github.com/appagent/appagent/agent/preflight/preflighttest"
)

func TestFlagLine(t *testing.T) {
	docker := map[string]string{"/.dockerenv": "", "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "1:name=systemd:/docker/abc\n"}
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
		f        pt.Fake
		wantLine string
		fixLacks string // no fix may name this (a flag that was already given)
		msgHas   map[string]string
	}{
		{
			name:     "docker, no flags",
			f:        pt.Fake{Files: with(docker, "/proc/self/mountinfo", pt.APILines+pt.DockerV1Cgroup), Dirs: map[string]bool{"/data": true}, ReadOnly: map[string]error{"/sys/fs/cgroup/systemd": syscall.EROFS}},
			wantLine: "--tmpfs /run --tmpfs /run/lock --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw",
			msgHas:   map[string]string{"cgroup": "read-only"},
		},
		{
			// The case: the fixes of run-tmpfs and cgroup given, /run/lock forgotten.
			name:     "docker with --tmpfs /run and the cgroup flags",
			f:        pt.Fake{Files: with(docker, "/proc/self/mountinfo", pt.APILines+pt.RunTmpfs+pt.DockerV1CgroupRW), Dirs: map[string]bool{"/data": true}},
			wantLine: "--tmpfs /run/lock",
			msgHas:   map[string]string{"api-mounts": "Failed to mount tmpfs at /run/lock"},
		},
		{
			name:     "docker with every flag",
			f:        pt.Fake{Files: with(docker, "/proc/self/mountinfo", pt.APILines+pt.RunTmpfs+pt.RunLock+pt.DockerV1CgroupRW), Dirs: map[string]bool{"/data": true}},
			wantLine: "",
		},
		{
			name: "podman --userns=auto --systemd=always on a hybrid host",
			f: pt.Fake{Files: map[string]string{"/run/.containerenv": "", "/proc/self/status": pt.CapsDefault, "/proc/self/mountinfo": pt.PodmanUserNS,
				"/proc/self/cgroup": "1:name=systemd:/libpod_parent/libpod-abc\n", "/proc/self/uid_map": "         0    1000000      65534\n"},
				Dirs:     map[string]bool{"/data": true, "/sys/fs/cgroup/systemd/libpod_parent/libpod-abc": true},
				ReadOnly: map[string]error{"/sys/fs/cgroup/systemd/libpod_parent/libpod-abc": syscall.EACCES}},
			wantLine: "",
			fixLacks: "--systemd=always",
			msgHas:   map[string]string{"cgroup": "user namespace (its root is uid 1000000 on the host)"},
		},
	}
	cases = append(cases, struct {
		name     string
		f        pt.Fake
		wantLine string
		fixLacks string
		msgHas   map[string]string
	}{
		name: "rootless podman --systemd=always on a hybrid host",
		f: pt.Fake{Files: map[string]string{"/run/.containerenv": "", "/proc/self/status": pt.CapsDefault, "/proc/self/mountinfo": pt.PodmanUserNS,
			"/proc/self/cgroup": "1:name=systemd:/\n", "/proc/self/uid_map": "         0       1001          1\n         1     100000      65536\n"},
			Dirs:     map[string]bool{"/data": true},
			ReadOnly: map[string]error{"/sys/fs/cgroup/systemd": syscall.EACCES}},
		fixLacks: "oci-hook",
		msgHas:   map[string]string{"cgroup": "runs rootless, in the user namespace of host uid 1001"},
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := Check(pt.Config(false), tc.f.System())
			if got := rs.FlagLine(); got != tc.wantLine {
				t.Errorf("FlagLine() = %q, want %q\n%s", got, tc.wantLine, pt.Dump(rs))
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
					t.Errorf("%s did not fail:\n%s", check, pt.Dump(rs))
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
		{pt.MountsPodmanV2, CgroupV2},
		{pt.MountsNspawn, CgroupHybrid},
		{pt.DockerV1Cgroup, CgroupV1},
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
		want   UserNS
	}{
		{"         0          0 4294967295\n", UserNS{HostRoot: 0}},
		{"         0    1000000      65534\n", UserNS{Inner: true, HostRoot: 1000000}},
		{"         0       1001          1\n         1     100000      65536\n", UserNS{Inner: true, HostRoot: 1001, Rootless: true}},
		{"      1000       1000          1\n", UserNS{Inner: true, HostRoot: -1}}, // root unmapped
		{"", UserNS{Inner: true, HostRoot: -1}},
	}
	for _, tc := range cases {
		f := pt.Fake{Files: map[string]string{"/proc/self/uid_map": tc.uidMap}}
		if got := ReadUserNS(f.System()); got != tc.want {
			t.Errorf("ReadUserNS(%q) = %+v, want %+v", tc.uidMap, got, tc.want)
		}
	}
	if got := ReadUserNS((&pt.Fake{}).System()); got.Inner {
		t.Errorf("an unreadable uid_map counts as a user namespace: %+v", got)
	}
}
