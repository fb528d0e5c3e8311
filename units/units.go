// Package units ships the systemd unit files that appagent installs into an image.
//
// The files are embedded so that `appagent prepare` needs nothing but the binary; the
// unit texts themselves are the documentation of how the agent runs.
package units

import "embed"

// FS holds the shipped unit files at its root.
//
//go:embed *.service
var FS embed.FS

// JournaldConf is the journald drop-in of an appagent container (no rate limit, volatile
// storage, nothing forwarded to the console); `appagent prepare` installs it.
//
//go:embed appagent-journald.conf
var JournaldConf []byte
