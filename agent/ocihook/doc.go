// Package ocihook is the host-side helper that lets systemd run in a user namespace on a
// cgroup v1 or hybrid host: an OCI createRuntime hook that gives the container's
// name=systemd cgroup to the host uid the container's root maps to, before systemd starts.
//
// On cgroup v2 the runtime delegates the container's cgroup itself; on v1 no podman or
// Docker flag does (docs/runtimes.md#user-namespaces). This package runs on the HOST, as
// root, called by the runtime with the container's state on stdin; it changes nothing but the
// ownership of that one cgroup directory. What runs inside the container does not belong here.
package ocihook
