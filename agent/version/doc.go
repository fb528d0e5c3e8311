// Package version reports what this appagent binary is: version, commit and build features.
// Not here: the build's flags (the Makefile's LDFLAGS) or the image's build id (agent/upgrade).
package version
