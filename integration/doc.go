// Package integration holds the tests that boot real systemd containers with appagent as
// their entrypoint, under systemd-nspawn (testing/nspawn) and podman (testing/podman): one
// file per topic. Every test calls nspawn.Require or podman.Require first, so `go test -short`
// skips them and CI=true turns a missing tool into a failure. docs/testing.md says how they
// work and how to debug one.
//
// It holds tests only; the harness lives in testing/.
package integration
