// Package nspawn boots real systemd containers for integration tests with systemd-nspawn.
//
// Root builds (once, cached by its inputs under /var/cache/appagent-test) a Debian 12 root
// with systemd by debootstrap; Boot gives a test its own overlayfs copy of it with the appagent
// binary of this repository at /usr/bin/appagent, the test's files, and a volume at /data,
// starts it with appagent init (or Options.Init) as PID 1, and registers a cleanup that stops
// the container, unmounts and removes everything, even when the test failed. Exec runs
// commands inside with nsenter. A sweep at the start of each test process removes what
// crashed runs left behind.
//
// It is test-only code: it needs root, systemd-nspawn and debootstrap, and never starts
// systemd on the host. It does not know the agent's behaviour; tests assert that.
// docs/testing.md explains the cache, CI=true and how to debug a failing test.
package nspawn
