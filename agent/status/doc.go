// Package status tells the container's state, for `appagent status` and for probes: it asks
// systemd over D-Bus (its private socket, so no dbus daemon is needed) about the application's
// units, appagent's own units and hooks, and reads the files the agent, the volume and the
// parameters steps leave (/run/appagent/params-status.json, <volume>/.appagent/, the image's
// /usr/share/appagent/build-id).
//
// It only reads: it never starts, stops or resets a unit. Deciding the overall state from
// those facts is a pure function (Decide), tested without systemd; collecting them (Collect)
// is proven in a booted container. A missing or unreadable file is "unknown", never an error.
package status
