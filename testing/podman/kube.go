package podman

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

// Attach is a handle on a container made by KubePlay.
func Attach(t testing.TB, name string) *Container { t.Helper(); return Engine.Attach(t, name) }

// KubePlay runs `podman kube play` on a Kubernetes YAML. Its objects must be named after the
// owner (harness.Owner) and labelled with harness.LabelOwner, so that the sweep and .ci/run
// find what a crashed run left; at cleanup `podman kube down` removes the pods and the named
// volumes are removed.
func KubePlay(t testing.TB, manifest []byte, volumes ...string) string {
	t.Helper()
	return kubePlay(t, nil, manifest, volumes)
}

// KubePlayOn is KubePlay with the pod on network (NewNetwork), where the pods of one test
// reach each other by name.
func KubePlayOn(t testing.TB, network string, manifest []byte, volumes ...string) string {
	t.Helper()
	return kubePlay(t, []string{"--network", network}, manifest, volumes)
}

func kubePlay(t testing.TB, flags []string, manifest []byte, volumes []string) string {
	t.Helper()
	dir, err := harness.OwnerDir()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "kube-"+strconv.FormatInt(harness.Seq(), 10)+".yaml")
	if err := os.WriteFile(file, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// podman 4.3 can fail to remove the pod's cgroup while its last processes exit
		// ("remove /sys/fs/cgroup/…/conmon: device or resource busy"); a second try works.
		var r harness.Result
		var err error
		for try := 0; try < 4; try++ {
			if r, err = podman(CommandTimeout, nil, "kube", "down", file); err == nil && r.Code == 0 {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil || r.Code != 0 {
			if g, _ := podman(CommandTimeout, nil, "pod", "exists", podName(manifest)); g.Code == 0 {
				t.Errorf("podman kube down %s: exit %d %v %s", file, r.Code, err, r.Stderr)
			}
		}
		for _, v := range volumes {
			if r, err := podman(CommandTimeout, nil, "volume", "rm", "-f", v); err != nil || r.Code != 0 {
				t.Errorf("podman volume rm %s: exit %d %v %s", v, r.Code, err, r.Stderr)
			}
		}
		os.Remove(file)
	})
	// kube play has no --ulimit: the limits this machine needs (Ulimits) come from a
	// containers.conf of the test's own, named by CONTAINERS_CONF for this command only.
	conf := filepath.Join(dir, "kube-containers.conf")
	var limits []string
	for i := 1; i < len(Ulimits); i += 2 {
		limits = append(limits, strconv.Quote(Ulimits[i]))
	}
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = ["+strings.Join(limits, ", ")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append(append(append([]string{}, GlobalFlags...), "kube", "play"), flags...), file)
	t.Logf("CONTAINERS_CONF=%s %s", conf, harness.Quote("podman", args))
	r, err := harness.Run(CommandTimeout, nil, append(os.Environ(), "CONTAINERS_CONF="+conf), "podman", args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("podman kube play: exit %d %v\n%s%s", r.Code, err, harness.Tail(r.Stdout, 40), harness.Tail(r.Stderr, 40))
	}
	return strings.TrimSpace(r.Stdout)
}

// podName is the first Pod's metadata.name in a manifest ("" when there is none).
func podName(manifest []byte) string {
	for _, doc := range strings.Split(string(manifest), "\n---\n") {
		if !strings.Contains(doc, "\nkind: Pod\n") && !strings.HasPrefix(doc, "kind: Pod\n") {
			continue
		}
		var in bool
		for _, l := range strings.Split(doc, "\n") {
			switch {
			case l == "metadata:":
				in = true
			case in && strings.HasPrefix(l, "  name: "):
				return strings.TrimPrefix(l, "  name: ")
			case in && l != "" && l[0] != ' ':
				in = false
			}
		}
	}
	return ""
}

// KubeName is a name for the objects of a KubePlay manifest, after this test process.
func KubeName() string {
	return "appagent-test-" + harness.Owner() + "-" + strconv.FormatInt(harness.Seq(), 10)
}

// OwnerLabels label a KubePlay manifest's objects with this test process.
func OwnerLabels() map[string]string { return map[string]string{harness.LabelOwner: harness.Owner()} }

// ownerOfName is the owner id in a name KubeName made ("appagent-test-p<pid>-<start>-<seq>…"),
// or "". kube play makes volumes (ConfigMaps, emptyDirs) without labels; their names say whose
// they are.
func ownerOfName(name string) string {
	rest, ok := strings.CutPrefix(name, "appagent-test-p")
	if !ok {
		return ""
	}
	f := strings.SplitN(rest, "-", 3)
	if len(f) < 3 {
		return ""
	}
	return "p" + f[0] + "-" + f[1]
}

// sweepKube removes the pods and the volumes of KubePlay manifests whose test process is gone.
func sweepKube(t testing.TB) {
	for _, k := range []struct{ list, rm []string }{
		{[]string{"pod", "ls", "--format", "{{.Name}}"}, []string{"pod", "rm", "-f", "-t", "0"}},
		{[]string{"volume", "ls", "--format", "{{.Name}}"}, []string{"volume", "rm", "-f"}},
	} {
		r, err := podman(CommandTimeout, nil, k.list...)
		if err != nil || r.Code != 0 {
			continue
		}
		for _, name := range strings.Fields(r.Stdout) {
			owner := ownerOfName(name)
			if owner == "" || harness.OwnerAlive(owner) {
				continue
			}
			if r, err := podman(CommandTimeout, nil, append(k.rm, name)...); err == nil && r.Code == 0 {
				t.Logf("podman: sweep: removed %s %s of dead test process %s", k.list[0], name, owner)
			}
		}
	}
}
