package upgrade

import "github.com/appagent/appagent/agent/config"

// CheckPaths reports every problem of the volume list against the image at root without
// changing anything, so `appagent prepare` can validate the whole declaration before its first
// write. Prepare asks again (it may be called on its own); the list is read and validated once
// per Config (config.VolumePaths).
func CheckPaths(root string, cfg *config.Config) config.Report {
	_, rep := checkPaths(root, cfg)
	return rep
}

// checkPaths validates the list and checks against the image every entry without an error of
// its own, so one bad entry hides no problem of another (each entry carries its problems,
// whether the list is one per line or a one-line flow list).
func checkPaths(root string, cfg *config.Config) ([]config.VolumePath, config.Report) {
	paths, rep := cfg.VolumePaths(root)
	checkImagePaths(root, cfg, paths, &rep)
	return paths, rep
}
