package preflight

import (
	"strconv"
	"strings"
)

// CgroupMode is the host's cgroup layout as far as a container can tell.
type CgroupMode string

const (
	CgroupV2     CgroupMode = "v2"     // /sys/fs/cgroup is cgroup2 (unified)
	CgroupHybrid CgroupMode = "hybrid" // v1 controllers, systemd's hierarchy, and cgroup2 at /sys/fs/cgroup/unified
	// CgroupV1 is a v1 tree without a visible unified hierarchy: a v1 host, or a hybrid host
	// whose runtime does not show /sys/fs/cgroup/unified (Docker), which inside is the same.
	CgroupV1      CgroupMode = "v1"
	CgroupUnknown CgroupMode = "unknown"
)

// DetectCgroupMode reads the mode from the container's mount table.
func DetectCgroupMode(ms Mounts) CgroupMode {
	m, ok := ms.At("/sys/fs/cgroup")
	switch {
	case !ok:
		return CgroupUnknown
	case m.FSType == "cgroup2":
		return CgroupV2
	case m.FSType != "tmpfs":
		return CgroupUnknown
	}
	if u, ok := ms.At("/sys/fs/cgroup/unified"); ok && u.FSType == "cgroup2" {
		return CgroupHybrid
	}
	return CgroupV1
}

// UserNS is what /proc/self/uid_map says of the process's user namespace.
type UserNS struct {
	Inner    bool // not the initial namespace: uid 0 here is not uid 0 on the host
	HostRoot int  // the host uid that uid 0 maps to (-1: unmapped)
	// Rootless: uid 0 alone maps to one host uid (the user who ran the runtime), the way
	// rootless podman maps it ("0 1001 1", then the user's subordinate ids); a rootful
	// --userns maps 0 as the start of one range ("0 1000000 65536").
	Rootless bool
}

// ReadUserNS reads /proc/self/uid_map; the initial namespace maps all 2^32-1 ids onto
// themselves ("0 0 4294967295"). An unreadable map counts as the initial namespace.
func ReadUserNS(sys *System) UserNS {
	data, err := sys.ReadFile("/proc/self/uid_map")
	if err != nil {
		return UserNS{HostRoot: 0}
	}
	ns := UserNS{HostRoot: -1}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, e1 := strconv.ParseUint(f[0], 10, 32)
		out, e2 := strconv.ParseUint(f[1], 10, 32)
		n, e3 := strconv.ParseUint(f[2], 10, 32)
		if e1 != nil || e2 != nil || e3 != nil {
			continue
		}
		if in == 0 && out == 0 && n == 4294967295 {
			return UserNS{HostRoot: 0}
		}
		if in == 0 && n > 0 {
			ns.HostRoot = int(out)
			ns.Rootless = n == 1
		}
	}
	ns.Inner = true
	return ns
}
