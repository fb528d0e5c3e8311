// Package harness holds what the container test harnesses (testing/nspawn, testing/podman)
// share: the owner identity of a test process, its work directory under /var/tmp/appagent-test,
// file locks, commands run in their own process group with a deadline, the Require policy
// (skip, or fail when CI=true) and the sweep of what crashed runs left behind.
//
// It knows nothing about systemd-nspawn or podman; those packages build on it.
package harness
