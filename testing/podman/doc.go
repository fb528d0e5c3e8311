// Package podman runs integration tests the way a user runs appagent: it builds an image from
// a Containerfile on top of a base image imported from the cached debootstrap root of
// testing/nspawn, runs it with podman, and reads `podman logs` and `podman exec`.
//
// Every podman command gets the flags this machine needs (--runtime runc, --cgroup-manager
// cgroupfs, the rlimits podman may keep, build --isolation chroot); docs/testing.md says why.
// Containers, test images and volumes are removed at test cleanup, and leftovers of crashed
// runs (labelled appagent-test.owner with a dead owner) by the sweep in Require.
//
// It is test-only code and does not know the agent's behaviour; tests assert that.
package podman
