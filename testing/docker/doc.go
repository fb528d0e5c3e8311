// Package docker runs integration tests on Docker Engine the way a user runs appagent there:
// it builds an image from a Containerfile on top of a base image imported (`docker import`)
// from the cached debootstrap root of testing/nspawn, runs it with the flags docs/runtimes.md
// gives for Docker, and reads `docker logs`, `docker exec` and `docker diff`.
//
// Docker has no systemd mode: RunFlags are the documented flags, so a test that passes proves
// the documented command line. Containers, test images and volumes are removed at test
// cleanup, and leftovers of crashed runs (labelled appagent-test.owner with a dead owner) by
// the sweep in Require. Under CI=true a test that cannot reach a Docker daemon fails.
//
// It is test-only code and does not know the agent's behaviour; tests assert that.
package docker
