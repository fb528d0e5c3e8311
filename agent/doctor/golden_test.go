package doctor

import (
	"bytes"
	"context"
	"testing"

	"github.com/appagent/appagent/agent/config"
	. "github.com/appagent/appagent/agent/preflight"
	pt "github.com/appagent/appagent/agent/preflight/preflighttest"
	"github.com/appagent/appagent/internal/goldenfile"
)

func TestDoctorGolden(t *testing.T) {
	f := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n",
		"/run/.containerenv": "", "/proc/1/comm": "systemd\n", "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"},
		Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true, "/var/log/journal": true}, Avail: 300 << 20, Total: 100 << 30,
		Host: "abc123", Env: map[string]string{"FQDN": "wiki.example.org"}}
	cfg := pt.Config(false)
	cfg.Identity = "FQDN"
	cfg.Units = []config.Unit{{Name: "mariadb.service", Essential: true}, {Name: "apache2.service"}}
	rs := Run(context.Background(), cfg, f.System(), Options{Units: fakeUnits{state: "degraded", load: map[string]string{"apache2.service": "masked"}}})
	var out bytes.Buffer
	rs.Write(&out)
	out.WriteString("\n" + rs.Summary() + "\n")
	goldenfile.Check(t, "doctor.txt", out.Bytes())
}

// Doctor in a pod: the cluster check says what the pod runs with, and the fixes are the pod
// spec's. Kubernetes without a user namespace and with the token mounted; OpenShift as
// appagent kube --openshift runs it (a user namespace, the SCC passed in, no token).
func TestDoctorClusterGolden(t *testing.T) {
	base := func() pt.Fake {
		return pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n",
			"/proc/1/comm": "systemd\n"},
			Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true}, Avail: 50 << 30, Total: 100 << 30,
			Host: "wiki-0", Env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}}
	}
	var out bytes.Buffer
	k := base()
	k.Dirs[ServiceAccountDir] = true
	out.WriteString("# Kubernetes, hostUsers unset, token mounted\n")
	Run(context.Background(), pt.Config(false), k.System(), Options{Units: fakeUnits{state: "running"}}).Write(&out)

	o := base()
	o.Files["/proc/self/uid_map"] = "         0 2147352576      65536\n"
	o.Env[SCCEnv] = "nested-container"
	out.WriteString("\n# OpenShift, as appagent kube --openshift runs it\n")
	rs := Run(context.Background(), pt.Config(false), o.System(), Options{Units: fakeUnits{state: "running"}})
	rs.Write(&out)
	goldenfile.Check(t, "doctor-cluster.txt", out.Bytes())
	if DetectRuntime(o.System()) != OpenShift || DetectRuntime(k.System()) != Kubernetes {
		t.Errorf("runtime: %s, %s", DetectRuntime(o.System()), DetectRuntime(k.System()))
	}
	delete(k.Env, "KUBERNETES_SERVICE_HOST")
	if DetectRuntime(k.System()) != Kubernetes {
		t.Errorf("the service account mount alone tells Kubernetes")
	}
}
