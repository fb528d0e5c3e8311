package version

import (
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at build time with -ldflags "-X ...".
var (
	Version = "dev"
	Commit  = ""
)

// JournalSource names how the agent reads the journal; the logfwd package sets it in an init
// function of the libsystemd reader ("sdjournal"); without it, "journalctl".
var JournalSource = "journalctl"

// Info is what `appagent version` prints.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
	Journal string `json:"journal"`
}

// Get returns the build's Info.
func Get() Info {
	c := Commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					c = s.Value[:12]
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return Info{Version: Version, Commit: c, Go: runtime.Version(), Journal: JournalSource}
}
