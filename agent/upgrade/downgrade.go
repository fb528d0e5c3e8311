package upgrade

import (
	"fmt"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// DowngradeEnv, set to "allow" in the container's environment, lets one start take a volume
// back to this image's older build where volume.downgrade refuses it: the rollback after a
// bad upgrade is an operator's decision at run time, not the old image's.
const DowngradeEnv = "APPAGENT_DOWNGRADE"

// buildTime is when a build id was made (NewBuildID puts its UTC time first); ok is false for
// ids that carry no time, whose order is then unknown.
func buildTime(id string) (time.Time, bool) {
	const layout = "20060102T150405Z"
	if len(id) < len(layout) {
		return time.Time{}, false
	}
	t, err := time.Parse(layout, id[:len(layout)])
	return t, err == nil
}

// isDowngrade: the volume was last written by a build made after this image's. Build ids
// order by build time, not by release: an old release rebuilt today is not a downgrade.
func isDowngrade(volume, image string) bool {
	v, ok1 := buildTime(volume)
	i, ok2 := buildTime(image)
	return ok1 && ok2 && i.Before(v)
}

// checkDowngrade applies volume.downgrade to a planned downgrade.
func checkDowngrade(p *Plan, o *Options) error {
	if !p.Downgrade {
		return nil
	}
	if o.Config.Volume.Downgrade == config.DowngradeAllow || o.AllowDowngrade {
		fmt.Fprintf(o.Out, "appagent: warning: this is a downgrade: the volume %s was last written by build %s, made after this image's build %s; the files the user did not change go back to this image's versions (backup in %s)\n",
			p.Volume, p.FromBuild, p.ToBuild, orNone(p.Backup))
		return nil
	}
	return exitcode.Withf(exitcode.VolumeNewer,
		"the volume %s was last written by build %s, made after this image's build %s: starting this image would downgrade it, and volume.downgrade in %s is %q; run the newer image, or to roll back on purpose start this one once with %s=allow (it backs up what it changes first; `--plan` shows what it would do)",
		p.Volume, p.FromBuild, p.ToBuild, o.Config.File, config.DowngradeRefuse, DowngradeEnv)
}

func orNone(s string) string {
	if s == "" {
		return "none: nothing to change"
	}
	return s
}

// AllowDowngradeEnv reads DowngradeEnv from an environment value: "" (not allowed) or
// "allow"; anything else is a mistake the operator hears about before the volume is touched.
func AllowDowngradeEnv(val string) (bool, error) {
	return consent(DowngradeEnv, val, config.DowngradeAllow)
}

// consent reads a one-start consent from the environment: unset, or the one word that gives
// it; anything else is a mistake the operator hears about before the volume is touched.
func consent(name, val, yes string) (bool, error) {
	switch val {
	case "":
		return false, nil
	case yes:
		return true, nil
	}
	return false, exitcode.Withf(exitcode.Config, "%s=%q: the only value is %q (or leave it unset)", name, truncate(val, 40), yes)
}
