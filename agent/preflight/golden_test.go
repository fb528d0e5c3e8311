package preflight

import (
	"bytes"
	"context"
	"syscall"
	"testing"

	"github.com/appagent/appagent/internal/goldenfile"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// What `podman logs` shows when init refuses a docker-like run (the message people read).
func TestBeforeInitGolden(t *testing.T) {
	f := fake{files: map[string]string{"/proc/self/mountinfo": mountsDockerLike, "/proc/self/status": capsDefault,
		"/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true},
		readOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}}
	var out bytes.Buffer
	err := BeforeInit(testConfig(false), f.system(), &out)
	if exitcode.Of(err) != exitcode.Preflight {
		t.Fatalf("error %v (code %d), want exit code %d", err, exitcode.Of(err), exitcode.Preflight)
	}
	out.WriteString("error: " + err.Error() + "\n")
	goldenfile.Check(t, "init-podman-systemd-false.txt", out.Bytes())

	out.Reset()
	f.env = map[string]string{SkipEnv: "1"}
	if err := BeforeInit(testConfig(false), f.system(), &out); err != nil || out.String() != "appagent: preflight skipped (APPAGENT_SKIP_PREFLIGHT=1)\n" {
		t.Errorf("skip: %v %q", err, out.String())
	}

	out.Reset()
	ok := fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n"},
		dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true}}
	if err := BeforeInit(testConfig(false), ok.system(), &out); err != nil || out.Len() != 0 {
		t.Errorf("a good runtime must pass silently: %v %q", err, out.String())
	}
}

func TestDoctorGolden(t *testing.T) {
	f := fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": "", "/proc/1/comm": "systemd\n", "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"},
		dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true, "/var/log/journal": true}, avail: 300 << 20, total: 100 << 30,
		host: "abc123", env: map[string]string{"FQDN": "wiki.example.org"}}
	cfg := testConfig(false)
	cfg.Identity = "FQDN"
	cfg.Units = []config.Unit{{Name: "mariadb.service", Essential: true}, {Name: "apache2.service"}}
	rs := Doctor(context.Background(), cfg, f.system(), DoctorOptions{Units: fakeUnits{state: "degraded", load: map[string]string{"apache2.service": "masked"}}})
	var out bytes.Buffer
	rs.Write(&out)
	out.WriteString("\n" + rs.Summary() + "\n")
	goldenfile.Check(t, "doctor.txt", out.Bytes())
}
