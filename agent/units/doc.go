// Package units is appagent's systemd side of the image's declaration: generator drop-ins,
// hook units and their stamps, masks, and what systemd's unit settings mean in a container
// (sandboxing that needs a mount namespace). The failure report those units run is
// agent/failure's.
//
// The generator (appagent-generator, run by systemd at every boot) turns the declaration into
// unit files under systemd's generator directories: a drop-in per application unit (start
// after the agent and the hooks, read the parameters, exit the container when an essential
// unit fails), the hook units (configure, upgrade, reconfigure) with their stamps on the
// volume, and masks of units that have no place in a container. The parameter files the
// drop-ins name are written by agent/params; the declaration is parsed by agent/config.
package units
