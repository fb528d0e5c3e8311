//go:build !appagent_kube

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/appagent/appagent/agent/exitcode"
)

// kubeExecEnv marks an appagent-kube that appagent ran: one that lacks the command itself
// (a copy of appagent under that name) must say so rather than run itself again.
const kubeExecEnv = "APPAGENT_KUBE_EXEC"

// cmdKube in the in-container appagent hands the command line to appagent-kube, next to this
// binary or in PATH, as git and kubectl run their plugins: the Kubernetes API types it needs
// would make the binary 5 MB and every appagent process in the container 3 MB larger
// (docs/performance.md).
func cmdKube() *command {
	return &command{
		name:        "kube",
		summary:     kubeSummary,
		passthrough: true,
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if os.Getenv(kubeExecEnv) != "" {
				self, _ := os.Executable()
				return exitcode.Withf(exitcode.Failure, "%s is not built with the kube command; build it with make build (bin/%s)", self, kubeBinary)
			}
			path, err := findKube()
			if err != nil {
				return exitcode.With(exitcode.Failure, err)
			}
			os.Setenv(kubeExecEnv, path)
			err = syscall.Exec(path, append([]string{kubeBinary}, args...), os.Environ())
			return exitcode.With(exitcode.Failure, fmt.Errorf("run %s: %w", path, err))
		},
	}
}

// findKube looks next to this binary first (bin/appagent finds bin/appagent-kube), then in PATH.
func findKube() (string, error) {
	self, err := os.Executable()
	if err == nil {
		next := filepath.Join(filepath.Dir(self), kubeBinary)
		if _, err := os.Stat(next); err == nil {
			return next, nil
		}
	}
	path, err := exec.LookPath(kubeBinary)
	if err == nil {
		return path, nil
	}
	if !errors.Is(err, exec.ErrNotFound) {
		return "", err
	}
	return "", fmt.Errorf(`the kube command is the separate binary %s (the Kubernetes API types would make the in-container agent 3 MB larger), and it is neither next to %s nor in PATH.
Install it beside appagent where you run kube (make build writes bin/%s); an image needs none: give
it the image's declaration with
    podman run --rm --entrypoint cat IMAGE /etc/appagent/appagent.yaml | appagent kube --config - --image IMAGE`, kubeBinary, self, kubeBinary)
}
