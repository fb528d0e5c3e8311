package upgrade

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/exitcode"
)

// AdoptEnv, set to "yes" in the container's environment, lets a start adopt a volume that
// holds files but no appagent state. Without it such a volume is refused: it is a
// hand-made volume (the talk's cp -n step), one whose .appagent was lost, or the wrong
// volume, and adopting it re-runs nothing only if appagent knows it is not a first boot.
const AdoptEnv = "APPAGENT_ADOPT"

// AllowAdoptEnv reads AdoptEnv from an environment value: "" or "yes".
func AllowAdoptEnv(val string) (bool, error) { return consent(AdoptEnv, val, "yes") }

// checkAdopt applies the consent to a planned adoption and, given it, runs the caller's
// OnAdopt before the volume changes (so a crash after the adoption cannot leave a volume
// whose configure hook would run again).
func checkAdopt(v *vfs, p *Plan, o *Options) error {
	if !p.Adopt {
		return nil
	}
	if !o.Adopt {
		return exitcode.Withf(exitcode.VolumeForeign,
			"the volume %s holds files (%s) but no appagent state (%s is missing): it was not made by appagent (a hand-made or `cp -n` volume), its .appagent directory was lost, or it is the wrong volume. "+
				"Adopting it keeps every file as the application's (the image's versions of files that differ go beside them as *%s), counts the configure hook as done (the application's data is there), and takes the parameters from this start, naming each that falls back to its default; "+
				"to adopt it, start once with %s=yes (`--plan` shows what it would change); otherwise check the volume flag (-v)",
			p.Volume, topNames(v), v.abs(fileManifest), SuffixNew, AdoptEnv)
	}
	fmt.Fprintf(o.Out, "appagent: adopting the volume %s (%s=yes): its files are kept as the application's, the configure hook counts as done\n", p.Volume, AdoptEnv)
	if o.OnAdopt != nil {
		if err := o.OnAdopt(); err != nil {
			return exitcode.Withf(exitcode.Upgrade, "%w; nothing of the volume was changed; start again to retry", err)
		}
	}
	return nil
}

// topNames says what the volume's root holds, quoted (names from the volume may hold
// newlines), at most five.
func topNames(v *vfs) string {
	fd, err := v.open("", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return "?"
	}
	f := os.NewFile(uintptr(fd), v.path)
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	var shown []string
	for _, n := range names {
		if n != StateDir && n != "lost+found" {
			shown = append(shown, n)
		}
	}
	sort.Strings(shown)
	more := ""
	if len(shown) > 5 {
		more = fmt.Sprintf(" and %d more", len(shown)-5)
		shown = shown[:5]
	}
	for i, n := range shown {
		shown[i] = strconv.Quote(n)
	}
	return strings.Join(shown, ", ") + more
}
