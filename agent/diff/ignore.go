package diff

import (
	"path"
	"strings"
)

// Ignored is one built-in ignored path and why it is safe to lose.
type Ignored struct {
	Path string
	Why  string
}

// BuiltinIgnore lists what diff never reports. Each entry is either temporary by nature or
// rewritten by systemd or the runtime at every boot of a clean image (seen by booting a
// Debian 12 image twice under systemd-nspawn and podman: these were the only changes).
// docs/diff.md repeats this list; an image adds its own with diff.ignore in appagent.yaml.
var BuiltinIgnore = []Ignored{
	{"/proc", "kernel interface, not a filesystem"},
	{"/sys", "kernel interface, not a filesystem"},
	{"/dev", "devices, made by the runtime"},
	{"/run", "tmpfs: runtime state, empty at every start"},
	{"/tmp", "temporary files"},
	{"/var/tmp", "temporary files (a tmpfs under podman --read-only)"},
	{"/etc/hostname", "written or bind-mounted by the runtime from --hostname"},
	{"/etc/hosts", "written or bind-mounted by the runtime"},
	{"/etc/resolv.conf", "written or bind-mounted by the runtime"},
	{"/etc/machine-id", "the container's identity, set by systemd or the runtime at boot"},
	{"/etc/mtab", "symlink to /proc/self/mounts, recreated by systemd-tmpfiles"},
	{"/.dockerenv", "docker's marker file"},
	{"/etc/.updated", "systemd-update-done's stamp (ConditionNeedsUpdate), rewritten when /usr is newer than /etc"},
	{"/var/.updated", "systemd-update-done's stamp (ConditionNeedsUpdate)"},
	{"/etc/ld.so.cache", "rebuilt by ldconfig.service at boot when /usr is newer than /etc"},
	{"/var/cache/ldconfig", "ldconfig's cache, rebuilt at boot"},
	{"/var/lib/systemd", "systemd's own per-boot state: timer stamps, linger, random seed, catalog"},
	{"/var/log/journal", "the journal: appagent forwards it to the container's output (doctor warns when it is kept in the container's layer)"},
	{"/var/log/wtmp", "login records written by systemd-update-utmp at every boot and shutdown"},
	{"/var/log/btmp", "failed-login records"},
	{"/var/log/lastlog", "last-login records"},
	{ManifestPath, "this manifest itself"},
}

// Ignore decides which paths diff leaves out: the built-in list, the volume, the template
// tree and the image's own list (diff.ignore). Entries are absolute paths; a trailing /* or
// glob characters make a path.Match pattern.
type Ignore struct {
	exact   map[string]bool
	globs   []string
	Volume  string
	Entries []string // every path and pattern, for the report
}

// NewIgnore builds the ignore set from the built-in list and extra paths (volume path,
// template, diff.ignore).
func NewIgnore(extra ...string) *Ignore {
	ig := &Ignore{exact: map[string]bool{}}
	for _, b := range BuiltinIgnore {
		ig.add(b.Path)
	}
	for _, e := range extra {
		if e != "" {
			ig.add(path.Clean(e))
		}
	}
	return ig
}

func (ig *Ignore) add(p string) {
	ig.Entries = append(ig.Entries, p)
	if strings.ContainsAny(p, "*?[") {
		ig.globs = append(ig.globs, p)
		return
	}
	ig.exact[p] = true
}

// Skip tells whether p (absolute) is ignored. The walk calls it for every entry and does not
// descend into an ignored directory, so only p itself needs checking there; Match also
// checks the parents (see covered).
func (ig *Ignore) Skip(p string) bool {
	if ig.exact[p] {
		return true
	}
	for _, g := range ig.globs {
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}
