// Package preflight checks that the container runtime can run systemd and keep the data, and
// says, for each failure, which runtime flag fixes it.
//
// `appagent init` runs Check before it execs systemd, because systemd dies silently in a
// runtime that cannot host it ("Failed to mount tmpfs at /run: Operation not permitted …
// Exiting PID 1" goes to a console nobody reads). `appagent doctor` (agent/doctor) runs the same
// checks plus those that need a running system.
//
// The package only observes: it reads /proc, stats paths and creates (and removes) one probe
// file on the volume. It does not mount, lock, or change anything, and it does not talk to
// systemd: the checks that need systemd's answers are doctor's.
package preflight
