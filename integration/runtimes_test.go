package integration

import (
	"testing"

	"github.com/appagent/appagent/testing/docker"
	"github.com/appagent/appagent/testing/podman"
)

// container is a container of either engine: testing/podman and testing/docker share one
// engine driver, so their containers are the same type.
type container = podman.Container

// engineRuntime is a container engine a scenario runs on, with its harness's calls.
type engineRuntime struct {
	name      string
	require   func(testing.TB)
	build     func(testing.TB, podman.BuildOptions) string
	run       func(testing.TB, string, podman.RunOptions) *container
	newVolume func(testing.TB) string
	must      func(testing.TB, ...string) string // an engine command with the harness's flags
}

var (
	podmanEngine = engineRuntime{"podman", podman.Require, podman.Build, podman.Run, podman.NewVolume, podman.Engine.Must}
	dockerEngine = engineRuntime{"docker", docker.Require, docker.Build, docker.Run, docker.NewVolume, docker.Engine.Must}
)
