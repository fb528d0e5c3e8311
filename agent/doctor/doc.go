// Package doctor is `appagent doctor`: init's preflight checks (agent/preflight) plus the
// checks that need the running system — systemd's state, the image's units, mount
// namespaces, the stop signal, journald's storage, the hostname, the volume's free space,
// lock and state files — each result with its fix.
//
// It only observes: it reads /proc, configuration and the volume's state, and asks systemd
// through the Units interface (agent/status implements it over D-Bus). It does not start,
// stop or repair anything; the checks init must pass before systemd runs belong to preflight.
package doctor
