package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/podman"
)

// A unit whose sandboxing systemd insists on (DynamicUser=) fails with 226/NAMESPACE in a
// container without CAP_SYS_ADMIN (podman's default); one with only PrivateTmp= and
// ProtectSystem= runs unconfined. Doctor and the failure report say why (issue 13, item 11).

const nsConfig = `volume:
  path: /data
units:
  - protected.service
{{SANDBOXED}}`

const nsSandboxedUnit = `[Service]
Type=oneshot
RemainAfterExit=yes
DynamicUser=yes
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
`

const nsProtectedUnit = `[Service]
Type=oneshot
RemainAfterExit=yes
PrivateTmp=yes
ProtectSystem=strict
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
`

func nsImage(t *testing.T, essential bool) string {
	sandboxed := "  - sandboxed.service\n"
	if essential {
		sandboxed = "  - name: sandboxed.service\n    essential: true\n    exit_code: 44\n"
	}
	cfg := strings.ReplaceAll(nsConfig, "{{SANDBOXED}}", sandboxed)
	return podman.Build(t, podman.BuildOptions{
		Containerfile: `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
COPY sandboxed.service protected.service /etc/systemd/system/
RUN ["/bin/systemctl", "enable", "sandboxed.service", "protected.service"]
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/sbin/init"]
`,
		Files: map[string]string{"appagent.yaml": cfg, "sandboxed.service": nsSandboxedUnit, "protected.service": nsProtectedUnit},
	})
}

func TestNamespaceFailureExplainedPodman(t *testing.T) {
	podman.Require(t)

	// Non-essential: the container runs degraded; doctor names the unit and its setting.
	c := podman.Run(t, nsImage(t, false), podman.RunOptions{})
	if _, err := c.WaitRunning(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitUnitSettled(t, c, "sandboxed.service")
	if st, _, _, _ := c.Exec("systemctl", "show", "-p", "ExecMainStatus", "--value", "sandboxed.service"); strings.TrimSpace(st) != "226" {
		t.Fatalf("sandboxed.service exit status %q, want 226 (does this podman give CAP_SYS_ADMIN?)", st)
	}
	if st, _, _, _ := c.Exec("systemctl", "is-active", "protected.service"); strings.TrimSpace(st) != "active" {
		t.Errorf("protected.service (PrivateTmp=, ProtectSystem= only) is %q, want active", st)
	}
	if logs := c.Logs(); !strings.Contains(logs, "sandboxed.service: status 226: systemd could not set up the mount namespace that DynamicUser=yes needs") {
		t.Errorf("podman logs does not explain the non-essential unit's 226:\n%s", logs)
	}
	doc, _, _, _ := c.Exec("/usr/bin/appagent", "doctor")
	for _, want := range []string{"FAIL  namespaces", "sandboxed.service (DynamicUser=yes) failed with 226/NAMESPACE", "--cap-add SYS_ADMIN"} {
		if !strings.Contains(doc, want) {
			t.Errorf("doctor lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "protected.service (") {
		t.Errorf("doctor names protected.service, which runs:\n%s", doc)
	}
	c.Stop(60 * time.Second)

	// Essential: the container exits with the unit's code, and the log says why. The failure
	// report cannot run here: its ExecStopPost=+ needs the same namespace (DynamicUser=
	// makes systemd set one up even for "+" commands), so the forwarder's line says it.
	c = podman.Run(t, nsImage(t, true), podman.RunOptions{})
	code, err := c.Wait(90 * time.Second)
	if err != nil || code != 44 {
		t.Fatalf("essential sandboxed unit: exit %d %v, want 44\n%s", code, err, c.Logs())
	}
	logs := c.Logs()
	for _, want := range []string{
		"sandboxed.service: status 226: systemd could not set up the mount namespace that DynamicUser=yes needs",
		"--cap-add SYS_ADMIN",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("podman logs lacks %q:\n%s", want, logs)
		}
	}

	// The fix the report names works: with CAP_SYS_ADMIN the unit runs and doctor passes.
	c = podman.Run(t, nsImage(t, true), podman.RunOptions{Args: []string{"--cap-add", "SYS_ADMIN"}})
	if _, err := c.WaitRunning(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitUnitSettled(t, c, "sandboxed.service")
	if st, _, _, _ := c.Exec("systemctl", "is-active", "sandboxed.service"); strings.TrimSpace(st) != "active" {
		t.Errorf("with CAP_SYS_ADMIN sandboxed.service is %q\n%s", st, c.Logs())
	}
	if doc, _, _, _ := c.Exec("/usr/bin/appagent", "doctor"); !strings.Contains(doc, "PASS  namespaces") {
		t.Errorf("doctor with CAP_SYS_ADMIN:\n%s", doc)
	}
	c.Stop(60 * time.Second)
}

// waitUnitSettled waits until a oneshot unit is no longer activating.
func waitUnitSettled(t *testing.T, c interface {
	Exec(args ...string) (string, string, int, error)
}, unit string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		st, _, _, _ := c.Exec("systemctl", "is-active", unit)
		if s := strings.TrimSpace(st); s == "active" || s == "failed" || s == "inactive" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
