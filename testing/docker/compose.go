package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

// Compose is a docker-compose project of a test: the user's compose file as it is, plus an
// override the harness writes that labels every container and volume with the owner (so the
// sweep and .ci/run's leftover check find them). `down -v` runs at cleanup.
type Compose struct {
	t       testing.TB
	Project string
	args    []string // -p PROJECT -f FILE -f OVERRIDE
	env     []string
}

// NewCompose prepares a project for file with the given environment (KEY=VALUE) for the
// file's ${...} substitutions. services names the services to label.
func NewCompose(t testing.TB, file string, env []string, services ...string) *Compose {
	t.Helper()
	harness.Require(t, "docker-compose", "docker-compose")
	od, err := harness.OwnerDir()
	if err != nil {
		t.Fatal(err)
	}
	project := fmt.Sprintf("appagent-test-%s-%d", harness.Owner(), harness.Seq())
	var b strings.Builder
	b.WriteString("services:\n")
	for _, s := range services {
		fmt.Fprintf(&b, "  %s:\n    labels:\n      %s: %q\n", s, harness.LabelOwner, harness.Owner())
	}
	override := filepath.Join(od, project+".override.yaml")
	if err := os.WriteFile(override, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Compose{t: t, Project: project, args: []string{"-p", project, "-f", file, "-f", override}, env: env}
	t.Cleanup(func() {
		if r, err := c.run(5*time.Minute, "down", "-v", "--timeout", "10"); err != nil || r.Code != 0 {
			t.Errorf("docker-compose down -v: exit %d %v %s", r.Code, err, r.Stderr)
		}
		_ = os.Remove(override)
	})
	return c
}

func (c *Compose) run(timeout time.Duration, args ...string) (harness.Result, error) {
	env := append(append(os.Environ(), "DOCKER_BUILDKIT=0", "COMPOSE_DOCKER_CLI_BUILD=0"), c.env...)
	return harness.Run(timeout, nil, env, "docker-compose", append(append([]string{}, c.args...), args...)...)
}

// Must runs a docker-compose command and fails the test unless it exits 0.
func (c *Compose) Must(args ...string) string {
	c.t.Helper()
	r, err := c.run(10*time.Minute, args...)
	if err != nil || r.Code != 0 {
		c.t.Fatalf("docker-compose %s: exit %d %v\n%s\n%s", strings.Join(args, " "), r.Code, err, harness.Tail(r.Stdout, 40), harness.Tail(r.Stderr, 40))
	}
	return strings.TrimSpace(r.Stdout)
}

// Exec runs a command in a service's container (docker-compose exec -T).
func (c *Compose) Exec(service string, args ...string) (stdout, stderr string, code int, err error) {
	r, err := c.run(5*time.Minute, append([]string{"exec", "-T", service}, args...)...)
	return r.Stdout, r.Stderr, r.Code, err
}

// Logs is docker-compose logs of a service, without colours.
func (c *Compose) Logs(service string) string {
	r, _ := c.run(time.Minute, "logs", "--no-color", service)
	return r.Stdout + r.Stderr
}
