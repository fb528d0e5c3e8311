package prepare

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/appagent/appagent/agent/units"
)

// InitLink is the image's entrypoint: a symlink to the appagent binary, which runs `init`
// when started by that name. podman and CRI-O turn on their systemd mode (tmpfs on /run,
// /run/lock and /tmp, a writable cgroup, SIGRTMIN+3 to stop) only for a command named
// /sbin/init, /usr/sbin/init, /usr/local/sbin/init or systemd; this is the one of those that a
// distribution leaves free, so `podman run IMAGE` needs no --systemd flag (the talk's
// entrypoint, too).
const InitLink = "/usr/local/sbin/init"

// InstallInitLink makes InitLink a symlink to units.Binary under root. Something else already
// there is left alone, with a warning: the image then needs --systemd=always under podman.
func InstallInitLink(root string, out io.Writer) error {
	link := filepath.Join(root, InitLink)
	if target, err := os.Readlink(link); err == nil {
		if target == units.Binary {
			return nil
		}
		fmt.Fprintf(out, "warning: %s exists and links to %s, not %s: left alone; with ENTRYPOINT [\"%s\"] podman needs --systemd=always\n", InitLink, target, units.Binary, units.Binary)
		return nil
	} else if _, err := os.Lstat(link); err == nil {
		fmt.Fprintf(out, "warning: %s exists and is not appagent's link: left alone; with ENTRYPOINT [\"%s\"] podman needs --systemd=always\n", InitLink, units.Binary)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("link %s: %w", InitLink, err)
	}
	if err := os.Symlink(units.Binary, link); err != nil {
		return fmt.Errorf("link %s: %w", InitLink, err)
	}
	return nil
}
