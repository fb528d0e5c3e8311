package units

import (
	"sort"

	"github.com/appagent/appagent/agent/config"
)

// DefaultMasks are units with no place in an application container. Each was seen to do
// harm or useless work in a Debian 12 systemd container under nspawn and podman; the image
// removes names with container.unmask and adds names with container.mask.
var DefaultMasks = []MaskEntry{
	{"systemd-firstboot.service", "asks for locale, time zone and root password on the console when /etc is empty; nobody answers in a container, and the volume is the first-boot key, not /etc"},
	{"getty.target", "pulls in login prompts on the console"},
	{"console-getty.service", "a login prompt on /dev/console: takes the console (vhangup) that systemd and appagent print to"},
	{"container-getty@.service", "login prompts on the container's ptys (nspawn)"},
	{"getty@.service", "login prompts on virtual terminals, which a container does not have"},
	{"serial-getty@.service", "login prompts on serial lines, which a container does not have"},
	{"console-setup.service", "sets the console font and keymap (Debian); fails or does nothing in a container"},
	{"keyboard-setup.service", "loads a keymap (Debian); fails or does nothing in a container"},
	{"apt-daily.timer", "downloads package lists into the image's layer (Debian); fails on a read-only root; images are rebuilt, not updated in place"},
	{"apt-daily-upgrade.timer", "upgrades packages inside the running container (Debian): state the next image replaces; fails on a read-only root"},
	{"dpkg-db-backup.timer", "backs up the package database into /var/backups (Debian), which is not on the volume; fails on a read-only root"},
	{"dnf-makecache.timer", "refreshes package metadata (Fedora/RHEL; the talk masks it for the same reason as apt-daily)"},
}

// MaskEntry is a masked unit and why.
type MaskEntry struct {
	Unit   string
	Reason string
}

// Masks returns the units to mask for c: the default list without c.Unmask, plus c.Mask.
func Masks(c config.Container) []string {
	unmask := map[string]bool{}
	for _, u := range c.Unmask {
		unmask[u] = true
	}
	set := map[string]bool{}
	for _, m := range DefaultMasks {
		if !unmask[m.Unit] {
			set[m.Unit] = true
		}
	}
	for _, m := range c.Mask {
		set[m] = true
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
