package upgrade

import "github.com/appagent/appagent/agent/config"

// CheckPaths reports every problem of the volume list against the image at root without
// changing anything, so `appagent prepare` can validate the whole declaration before its first
// write. Prepare runs the same checks again (it may be called on its own).
func CheckPaths(root string, cfg *config.Config) config.Report {
	paths, rep := cfg.VolumePaths(root)
	if !rep.HasErrors() {
		checkImagePaths(root, cfg, paths, &rep)
	}
	return rep
}
