// Package logfwd forwards the container's journal to the container's original stdout, so that
// `podman logs`, `docker logs`, `kubectl logs` and PaaS consoles show what the application's
// services say (issue 5; docs/logs.md).
//
// It has three parts:
//   - the keeper (StartKeeper, RunKeeper): a tiny process that `appagent init` starts just before
//     it execs systemd. It inherits the container's stdout and stderr (and the volume lock) and
//     hands the stdout to root peers over an abstract unix socket, because systemd closes every
//     inherited fd when it starts and mounts its own /run.
//   - journal sources (Source): libsystemd's sd-journal (loaded at run time, one locked OS
//     thread, batches of entries per C call) in cgo builds, `journalctl -o export` otherwise
//     or when libsystemd cannot be loaded; both resume after a stored cursor and share one
//     parser of the journal export format.
//   - the forwarding task (Task, for agent/service): filter, format (short or json), a
//     byte-bounded queue and a writer, so a blocked reader of stdout never blocks a service.
//
// Boundary: logfwd reads the journal and writes lines; it never configures units, never talks
// to systemd over D-Bus and never decides the container's exit code.
package logfwd
