package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/nspawn"
)

// A secret with units: reaches only the units it names (and the hooks), not every unit.
func TestSecretOnlyForNamedUnitsNspawn(t *testing.T) {
	nspawn.Require(t)
	const cfg = `volume:
  path: /data
parameters:
  - name: DB_PASSWORD
    description: the database's password
    secret: true
    required: true
    units: [app.service]
units:
  - app.service
  - other.service
hooks:
  configure: /bin/sh -c 'mkdir -p /data/out && cat "$CREDENTIALS_DIRECTORY/DB_PASSWORD" > /data/out/hook'
`
	unit := func(name string) string {
		return `[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mkdir -p /data/out && ls -A "$${CREDENTIALS_DIRECTORY:-/nonexistent}" > /data/out/` + name + ` 2>&1; true'

[Install]
WantedBy=multi-user.target
`
	}
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":       cfg,
			"/etc/systemd/system/app.service":   unit("app"),
			"/etc/systemd/system/other.service": unit("other"),
		},
		Setup:   enableUnits("app.service", "other.service"),
		Prepare: true,
		Env:     []string{"DB_PASSWORD=" + secretValue},
	})
	if state, err := c.WaitRunning(60 * time.Second); err != nil || state != "running" {
		failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager")
		t.Fatalf("state %q, %v; failed units:\n%s", state, err, failed)
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(c.Volume(), "out", name))
		if err != nil {
			t.Fatalf("%s wrote nothing: %v", name, err)
		}
		return strings.TrimSpace(string(data))
	}
	if got := read("app"); got != "DB_PASSWORD" {
		t.Errorf("app.service's credentials = %q, want DB_PASSWORD", got)
	}
	if got := read("other"); strings.Contains(got, "DB_PASSWORD") {
		t.Errorf("other.service received the secret it is not declared for: %q", got)
	}
	if got := read("hook"); got != secretValue {
		t.Errorf("the configure hook's credential = %q, want the secret", got)
	}
}
