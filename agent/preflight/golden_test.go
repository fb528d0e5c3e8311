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

// Doctor in a pod: the cluster check says what the pod runs with, and the fixes are the pod
// spec's. Kubernetes without a user namespace and with the token mounted; OpenShift as
// appagent kube --openshift runs it (a user namespace, the SCC passed in, no token).
func TestDoctorClusterGolden(t *testing.T) {
	base := func() fake {
		return fake{files: map[string]string{"/proc/self/mountinfo": mountsPodmanV2, "/proc/self/status": capsDefault, "/proc/self/cgroup": "0::/\n",
			"/proc/1/comm": "systemd\n"},
			dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true}, avail: 50 << 30, total: 100 << 30,
			host: "wiki-0", env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}}
	}
	var out bytes.Buffer
	k := base()
	k.dirs[ServiceAccountDir] = true
	out.WriteString("# Kubernetes, hostUsers unset, token mounted\n")
	Doctor(context.Background(), testConfig(false), k.system(), DoctorOptions{Units: fakeUnits{state: "running"}}).Write(&out)

	o := base()
	o.files["/proc/self/uid_map"] = "         0 2147352576      65536\n"
	o.env[SCCEnv] = "nested-container"
	out.WriteString("\n# OpenShift, as appagent kube --openshift runs it\n")
	rs := Doctor(context.Background(), testConfig(false), o.system(), DoctorOptions{Units: fakeUnits{state: "running"}})
	rs.Write(&out)
	goldenfile.Check(t, "doctor-cluster.txt", out.Bytes())
	if DetectRuntime(o.system()) != OpenShift || DetectRuntime(k.system()) != Kubernetes {
		t.Errorf("runtime: %s, %s", DetectRuntime(o.system()), DetectRuntime(k.system()))
	}
	delete(k.env, "KUBERNETES_SERVICE_HOST")
	if DetectRuntime(k.system()) != Kubernetes {
		t.Errorf("the service account mount alone tells Kubernetes")
	}
}
