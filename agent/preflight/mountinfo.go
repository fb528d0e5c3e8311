package preflight

import (
	"fmt"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo (proc(5)).
type Mount struct {
	ID, Parent int
	Root       string // root of the mount within its filesystem
	Point      string // mount point, relative to the process's root
	Options    string // per-mount options (rw, ro, nosuid, …)
	FSType     string
	Source     string
	Super      string // per-superblock options
}

// Mounts is a parsed mount table, in the kernel's order (later mounts stack over earlier ones).
type Mounts []Mount

// At returns the mount whose mount point is exactly path (the topmost, when mounts are stacked).
func (ms Mounts) At(path string) (Mount, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Point == path {
			return ms[i], true
		}
	}
	return Mount{}, false
}

// ParseMountinfo parses the text of /proc/<pid>/mountinfo. A malformed line is an error that
// names its line number: the input comes from the kernel, but a runtime or a test may hand us
// anything.
func ParseMountinfo(data string) (Mounts, error) {
	var ms Mounts
	for n, line := range strings.Split(data, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n+1, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func parseMountLine(line string) (Mount, error) {
	f := strings.Fields(line)
	// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || len(f) < sep+3 {
		return Mount{}, fmt.Errorf("expected \"ID PARENT MAJ:MIN ROOT POINT OPTIONS [FIELDS] - TYPE SOURCE OPTIONS\", got %q", line)
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Mount{}, fmt.Errorf("mount IDs %q %q are not numbers", f[0], f[1])
	}
	m := Mount{
		ID: id, Parent: parent,
		Root:    unescapeOctal(f[3]),
		Point:   unescapeOctal(f[4]),
		Options: f[5],
		FSType:  f[sep+1],
		Source:  unescapeOctal(f[sep+2]),
	}
	if len(f) > sep+3 {
		m.Super = f[sep+3]
	}
	return m, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1:i+4]) {
			v, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(v))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return s[0] <= '3' // fits a byte
}

// CapSysAdmin is the bit of CAP_SYS_ADMIN in a capability mask (linux/capability.h).
const CapSysAdmin = 21

// EffectiveCaps reads the CapEff mask from the text of /proc/<pid>/status.
func EffectiveCaps(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			c, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("CapEff %q: %w", strings.TrimSpace(v), err)
			}
			return c, nil
		}
	}
	return 0, fmt.Errorf("no CapEff line in the process status")
}

// Cgroup is one line of /proc/<pid>/cgroup.
type Cgroup struct {
	Hierarchy   int
	Controllers string // "" for the unified (v2) hierarchy, "name=systemd" for systemd's v1 one
	Path        string
}

// ParseCgroups parses /proc/<pid>/cgroup ("ID:CONTROLLERS:PATH" lines).
func ParseCgroups(data string) ([]Cgroup, error) {
	var out []Cgroup
	for n, line := range strings.Split(data, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("cgroup line %d: expected ID:CONTROLLERS:PATH, got %q", n+1, line)
		}
		id, err := strconv.Atoi(parts[0])
		if err != nil {
			return nil, fmt.Errorf("cgroup line %d: hierarchy ID %q is not a number", n+1, parts[0])
		}
		out = append(out, Cgroup{Hierarchy: id, Controllers: parts[1], Path: parts[2]})
	}
	return out, nil
}
