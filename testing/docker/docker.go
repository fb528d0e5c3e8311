package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/engine"
	"github.com/appagent/appagent/testing/internal/harness"
	"github.com/appagent/appagent/testing/nspawn"
)

// BaseRepo is the repository of the cached base images, tagged by nspawn.Key.
const BaseRepo = "localhost/appagent-base"

// RunFlags are the flags docs/runtimes.md gives for `docker run` of an appagent image on a
// cgroup v1 or hybrid host: tmpfs where systemd would mount one itself (it may not without
// CAP_SYS_ADMIN) and a writable cgroup tree. docs_test holds the docs to this list.
var RunFlags = []string{
	"--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
	"--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
}

// Engine is Docker Engine as the shared engine harness drives it.
var Engine = &engine.Engine{
	Name: "docker",
	// The legacy builder: the client's default (BuildKit through the buildx plugin) is not
	// installed here, and the legacy builder needs nothing but the daemon.
	Env:      []string{"DOCKER_BUILDKIT=0"},
	BaseRepo: BaseRepo,
	// --pull=false: base images are local only (there is no registry here).
	BuildFlags: []string{"--pull=false", "-q"},
	RunFlags:   func(engine.RunOptions) []string { return append([]string{}, RunFlags...) },
	// docker exec exits 1 with the client's or the daemon's error when the container is not
	// running or gone (126/127 are a command it could not run, like podman's).
	ExecGone: func(r harness.Result) bool {
		e := strings.TrimSpace(r.Stderr)
		return r.Code == 126 || r.Code == 127 || strings.HasPrefix(e, "Error response from daemon") || strings.HasPrefix(e, "Error: No such container")
	},
	RemoveFlags:    []string{"-f", "-v"},
	CommandTimeout: 5 * time.Minute,
	BuildTimeout:   15 * time.Minute,
}

// Require skips the test in -short mode or when root, docker, a reachable daemon or the nspawn
// harness's tools (for the base image) are missing; with CI=true it fails instead. It sweeps
// leftovers.
func Require(t testing.TB) {
	t.Helper()
	harness.Require(t, "docker", "docker", "tar", "debootstrap", "systemd-nspawn", "nsenter", "journalctl")
	if r, err := Engine.Cmd(30*time.Second, nil, "version", "--format", "{{.Server.Version}}"); err != nil || r.Code != 0 {
		msg := "docker: cannot run: no Docker daemon answers (start one: `nohup dockerd >/var/log/dockerd.log 2>&1 &`; `bash .ci/run` does): " +
			strings.TrimSpace(r.Stderr)
		if harness.InCI() {
			t.Fatalf("%s [CI=true: failing instead of skipping]", msg)
		}
		t.Skip(msg)
	}
	nspawn.Sweep(t)
	sweep(t)
}

// BaseImage returns localhost/appagent-base:KEY, imported from nspawn.Root(pkgs) once and
// kept across runs.
func BaseImage(t testing.TB, pkgs ...string) string { t.Helper(); return Engine.BaseImage(t, pkgs...) }

// BuildOptions describe a test image.
type BuildOptions = engine.BuildOptions

// Build builds an image (docker build, legacy builder) and returns its name; it is removed
// when the test ends.
func Build(t testing.TB, o BuildOptions) string { t.Helper(); return Engine.Build(t, o) }

// NewVolume creates a named volume that is removed when the test ends.
func NewVolume(t testing.TB) string { t.Helper(); return Engine.NewVolume(t) }

// RunOptions describe `docker run`; NoDefaults drops RunFlags.
type RunOptions = engine.RunOptions

// Container is a Docker container of a test.
type Container = engine.Container

// Run starts a container detached with RunFlags (unless NoDefaults) and registers its
// removal. When the test failed, the cleanup logs `docker logs` and the journal first.
func Run(t testing.TB, image string, o RunOptions) *Container {
	t.Helper()
	return Engine.Run(t, image, o)
}

// Diff is `docker diff` of a container: one "C /path", "A /path" or "D /path" a line.
func Diff(t testing.TB, c *Container) []string {
	t.Helper()
	out := Engine.Must(t, "diff", c.Name)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
