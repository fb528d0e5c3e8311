package preflight

import (
	"fmt"
	"strings"
)

// ServiceAccountDir is where Kubernetes mounts a pod's service account token.
const ServiceAccountDir = "/run/secrets/kubernetes.io/serviceaccount"

// SCCEnv is set by the pod spec `appagent kube --openshift` writes, from the pod's
// openshift.io/scc annotation (the downward API): the SCC that admitted the pod, which is the
// first thing to know on OpenShift and what tells OpenShift from plain Kubernetes.
const SCCEnv = "APPAGENT_SCC"

// checkCluster says, on Kubernetes and OpenShift, what the pod runs with and what the cluster
// must give systemd: a user namespace (hostUsers: false; on by default since Kubernetes 1.33,
// GA in 1.36), cgroup v2 nodes whose runtime delegates the cgroup (CRI-O 1.32+, containerd
// 2.1+), emptyDirs at /run (the run-tmpfs check), and no API token it does not need.
func checkCluster(sys *System, rt Runtime) (Result, bool) {
	if rt != Kubernetes && rt != OpenShift {
		return Result{}, false
	}
	r := Result{Check: "cluster", Severity: Pass}
	var facts, fixes []string
	name := "Kubernetes"
	if rt == OpenShift {
		name = "OpenShift"
		facts = append(facts, "SCC "+sys.Getenv(SCCEnv))
	}
	if h := sys.Getenv("KUBERNETES_SERVICE_HOST"); h != "" {
		facts = append(facts, "API at "+h)
	}
	ns := readUserNS(sys)
	if ns.inner {
		facts = append(facts, fmt.Sprintf("in a user namespace (root is host uid %d)", ns.hostRoot))
	} else {
		r.Severity = Warn
		facts = append(facts, "no user namespace: root in the pod is root on the node")
		fix := "set hostUsers: false in the pod spec (user namespaces: on by default since Kubernetes 1.33, GA in 1.36; nodes need CRI-O 1.32+ or containerd 2.1+ on cgroup v2 to give systemd its cgroup)"
		if rt == OpenShift {
			fix += "; on OpenShift run it under the nested-container SCC (docs/openshift.md)"
		}
		fixes = append(fixes, fix)
	}
	if sys.exists(ServiceAccountDir) {
		r.Severity = Warn
		facts = append(facts, "the service account token is mounted at "+ServiceAccountDir)
		fixes = append(fixes, "set automountServiceAccountToken: false (the application does not talk to the API; appagent kube writes it)")
	}
	r.Message = name + ": " + strings.Join(facts, "; ")
	r.Fix = strings.Join(fixes, "; ")
	return r, true
}
