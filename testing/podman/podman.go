package podman

import (
	"io"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/engine"
	"github.com/appagent/appagent/testing/internal/harness"
	"github.com/appagent/appagent/testing/nspawn"
)

// GlobalFlags go before every podman subcommand: crun refuses this machine's hybrid cgroups,
// there is no host systemd to manage cgroups, and journald is not there to take events.
var GlobalFlags = []string{"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}

// Ulimits are passed to run and build: the VM refuses podman's default rlimits.
var Ulimits = []string{"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"}

// BaseRepo is the repository of the cached base images, tagged by nspawn.Key.
const BaseRepo = "localhost/appagent-base"

// CommandTimeout bounds each podman command but builds (BuildTimeout).
var (
	CommandTimeout = 5 * time.Minute
	BuildTimeout   = 15 * time.Minute
)

// Engine is podman as the shared engine harness drives it.
var Engine = &engine.Engine{
	Name:          "podman",
	Global:        GlobalFlags,
	BaseRepo:      BaseRepo,
	ImportChanges: []string{"STOPSIGNAL=SIGRTMIN+3"},
	BuildFlags:    append([]string{"--isolation", "chroot", "--layers=false", "--pull=never"}, Ulimits...),
	// --systemd=always unless the test sets --systemd itself: podman detects systemd only
	// for /sbin/init-like commands, not for `appagent init`.
	RunFlags: func(o engine.RunOptions) []string {
		flags := append([]string{}, Ulimits...)
		if !engine.HasFlag(o.Args, "--systemd") {
			flags = append(flags, "--systemd=always")
		}
		return flags
	},
	// podman exec exits 125 when podman itself failed (container not running, ...).
	ExecGone:       func(r harness.Result) bool { return r.Code == 125 },
	RemoveFlags:    []string{"-f", "-v", "--time", "2"},
	CommandTimeout: CommandTimeout,
	BuildTimeout:   BuildTimeout,
}

// podman runs a podman command with GlobalFlags.
func podman(timeout time.Duration, stdin io.Reader, args ...string) (harness.Result, error) {
	return Engine.Cmd(timeout, stdin, args...)
}

// Require skips the test in -short mode or when root, podman, runc or the nspawn harness's
// tools (for the base image) are missing; with CI=true it fails instead. It sweeps leftovers.
func Require(t testing.TB) {
	t.Helper()
	harness.Require(t, "podman", "podman", "runc", "tar", "debootstrap", "systemd-nspawn", "nsenter", "journalctl")
	nspawn.Sweep(t)
	sweep(t)
}

// BaseImage returns localhost/appagent-base:KEY, imported from nspawn.Root(pkgs) once and
// kept across runs (the import is skipped when the image exists).
func BaseImage(t testing.TB, pkgs ...string) string { t.Helper(); return Engine.BaseImage(t, pkgs...) }

// BuildOptions describe a test image.
type BuildOptions = engine.BuildOptions

// Build builds an image (podman build --isolation chroot) and returns its name. The image is
// removed when the test ends.
func Build(t testing.TB, o BuildOptions) string { t.Helper(); return Engine.Build(t, o) }

// NewVolume creates a named volume that is removed when the test ends.
func NewVolume(t testing.TB) string { t.Helper(); return Engine.NewVolume(t) }

// NewNetwork creates an internal network of the test's own, removed when the test ends.
func NewNetwork(t testing.TB) string { t.Helper(); return Engine.NewNetwork(t) }

// RunOptions describe `podman run`; --systemd=... in Args replaces the default --systemd=always.
type RunOptions = engine.RunOptions

// Container is a podman container of a test.
type Container = engine.Container

// Run starts a container detached (--systemd=always unless Args set --systemd) and registers
// its removal. When the test failed, the cleanup logs `podman logs` and the journal first.
func Run(t testing.TB, image string, o RunOptions) *Container {
	t.Helper()
	return Engine.Run(t, image, o)
}
