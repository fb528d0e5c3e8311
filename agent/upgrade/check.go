package upgrade

import "github.com/appagent/appagent/agent/config"

// CheckPaths reports every problem of the volume list against the image at root without
// changing anything, so `appagent prepare` can validate the whole declaration before its first
// write. Prepare runs the same checks again (it may be called on its own).
func CheckPaths(root string, cfg *config.Config) config.Report {
	_, rep := checkPaths(root, cfg)
	return rep
}

// checkPaths validates the list and checks, against the image, every path that the list
// validation did not already fault, so one bad entry does not hide "does not exist" problems
// of the others.
func checkPaths(root string, cfg *config.Config) ([]config.VolumePath, config.Report) {
	paths, rep := cfg.VolumePaths(root)
	type at struct {
		file string
		line int
	}
	faulted := map[at]bool{}
	for _, p := range rep.Problems {
		if p.Severity == config.Error {
			faulted[at{p.File, p.Line}] = true
		}
	}
	var clean []config.VolumePath
	for _, p := range paths {
		if !faulted[at{p.File, p.Line}] {
			clean = append(clean, p)
		}
	}
	checkImagePaths(root, cfg, clean, &rep)
	return paths, rep
}
