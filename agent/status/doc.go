// Package status tells the container's state, for `appagent status` and for probes: it asks
// systemd over D-Bus (its private socket, so no dbus daemon is needed) about the application's
// units, appagent's own units and hooks, and reads the files the agent, the volume and the
// parameters steps leave (/run/appagent/params-status.json, <volume>/.appagent/, the image's
// /usr/share/appagent/build-id).
//
// It only reads: it never starts, stops or resets a unit. Deciding the overall state from
// those facts is a pure function (Decide), tested without systemd; collecting them (Collect)
// is proven in a booted container. A missing or unreadable file is "unknown", never an error.
//
// D-Bus is go-systemd's client (systemd_dbus.go), which reads one property per round trip;
// the units are read in parallel. Measured against the hand-written pipelined client it
// replaced (BenchmarkStatusNspawn, both inside one booted container, 2-core VM under a CI
// run's load, 2026-12-02): 13.6 ms against 11.0 ms a `status --json` (1.24×), with
// `systemctl is-system-running` at 5.1 ms; on the idle machine 13.7 against 12.8 ms (1.07×,
// docs/performance.md). Well under the 50 ms a probe may take.
package status
