// Package service is appagent.service: the long-running agent under systemd.
//
// It tells systemd when it is ready (sd_notify), runs the agent's tasks (parameter files, log
// forwarding, unit watching, state publishing; each owned by its own package) and stops cleanly
// on SIGTERM. It does not implement those tasks itself.
package service
