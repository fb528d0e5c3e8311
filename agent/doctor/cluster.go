package doctor

import (
	"fmt"
	"strings"

	"github.com/appagent/appagent/agent/preflight"
)

// checkCluster says, on Kubernetes and OpenShift, what the pod runs with and what the cluster
// must give systemd: a user namespace (hostUsers: false; on by default since Kubernetes 1.33,
// GA in 1.36), cgroup v2 nodes whose runtime delegates the cgroup (CRI-O 1.32+, containerd
// 2.1+), emptyDirs at /run (the run-tmpfs check), and no API token it does not need.
func checkCluster(sys *preflight.System, rt preflight.Runtime) (preflight.Result, bool) {
	if rt != preflight.Kubernetes && rt != preflight.OpenShift {
		return preflight.Result{}, false
	}
	r := preflight.Result{Check: "cluster", Severity: preflight.Pass}
	var facts, fixes []string
	name := "Kubernetes"
	if rt == preflight.OpenShift {
		name = "OpenShift"
		facts = append(facts, "SCC "+sys.Getenv(preflight.SCCEnv))
	}
	if h := sys.Getenv("KUBERNETES_SERVICE_HOST"); h != "" {
		facts = append(facts, "API at "+h)
	}
	ns := preflight.ReadUserNS(sys)
	if ns.Inner {
		facts = append(facts, fmt.Sprintf("in a user namespace (root is host uid %d)", ns.HostRoot))
	} else {
		r.Severity = preflight.Warn
		facts = append(facts, "no user namespace: root in the pod is root on the node")
		fix := "set hostUsers: false in the pod spec (user namespaces: on by default since Kubernetes 1.33, GA in 1.36; nodes need CRI-O 1.32+ or containerd 2.1+ on cgroup v2 to give systemd its cgroup)"
		if rt == preflight.OpenShift {
			fix += "; on OpenShift run it under the nested-container SCC (docs/openshift.md)"
		}
		fixes = append(fixes, fix)
	}
	if sys.Exists(preflight.ServiceAccountDir) {
		r.Severity = preflight.Warn
		facts = append(facts, "the service account token is mounted at "+preflight.ServiceAccountDir)
		fixes = append(fixes, "set automountServiceAccountToken: false (the application does not talk to the API; appagent kube writes it)")
	}
	r.Message = name + ": " + strings.Join(facts, "; ")
	r.Fix = strings.Join(fixes, "; ")
	return r, true
}
