package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/appagent/appagent/agent/config"
)

// --replicas 2 on the wiki: two pods of one StatefulSet, each its role by its ordinal, the
// replicas pointed at pod 0 in the headless Service, clients of the ports sent to pod 0.
func TestReplicas(t *testing.T) {
	cfg := wiki(t)
	o := wikiOptions()
	o.Values = allRequired()
	o.Replicas = 2
	docs, err := Kubernetes(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	var sts *appsv1.StatefulSet
	var cm *corev1.ConfigMap
	var svcs []*corev1.Service
	for _, obj := range decodeAll(t, yamlOf(t, docs)) {
		switch x := obj.(type) {
		case *appsv1.StatefulSet:
			sts = x
		case *corev1.ConfigMap:
			cm = x
		case *corev1.Service:
			svcs = append(svcs, x)
		}
	}
	if sts == nil || cm == nil || len(svcs) != 2 {
		t.Fatalf("objects: sts %v, cm %v, %d services", sts != nil, cm != nil, len(svcs))
	}
	if *sts.Spec.Replicas != 2 || sts.Spec.ServiceName != "wiki" {
		t.Errorf("replicas %d, service %s", *sts.Spec.Replicas, sts.Spec.ServiceName)
	}
	if p := sts.Spec.PodManagementPolicy; p != "" && p != appsv1.OrderedReadyPodManagement {
		t.Errorf("pod management %s: pod 1 must wait for pod 0", p)
	}
	r := cfg.Replication
	if cm.Data[r.Role] != config.RoleOrdinal || cm.Data[r.Primary] != "wiki-0.wiki" {
		t.Errorf("role %q, primary %q; want ordinal and wiki-0.wiki", cm.Data[r.Role], cm.Data[r.Primary])
	}
	if svcs[0].Spec.ClusterIP != corev1.ClusterIPNone || !svcs[0].Spec.PublishNotReadyAddresses || svcs[0].Spec.Selector["statefulset.kubernetes.io/pod-name"] != "" {
		t.Errorf("the headless Service must select every pod, ready or not: %+v", svcs[0].Spec)
	}
	if svcs[1].Spec.Selector["statefulset.kubernetes.io/pod-name"] != "wiki-0" {
		t.Errorf("the ports' Service must send clients to the primary: %v", svcs[1].Spec.Selector)
	}
	// One pod: nothing of this.
	o.Replicas = 1
	docs, err = Kubernetes(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if y := string(yamlOf(t, docs)); strings.Contains(y, "pod-name") || strings.Contains(y, "ordinal") {
		t.Errorf("one replica has the replicas' settings:\n%s", y)
	}
}

func TestReplicasProblems(t *testing.T) {
	cfg := wiki(t)
	noRepl := *cfg
	noRepl.Replication = nil
	strict := *cfg
	strict.Parameters = append([]config.Parameter{}, cfg.Parameters...)
	for i := range strict.Parameters {
		if strict.Parameters[i].Name == cfg.Replication.Role {
			strict.Parameters[i].OneOf = []string{"primary", "replica"}
		}
	}
	for _, c := range []struct {
		name     string
		cfg      *config.Config
		replicas int
		set      map[string]string
		want     []string
	}{
		{"no replication", &noRepl, 2, nil, []string{"--replicas 2: the image declares no replication:"}},
		{"role given", cfg, 3, map[string]string{"WIKI_ROLE": "primary"}, []string{"--set WIKI_ROLE=primary: with --replicas 3 each pod's role comes from its ordinal"}},
		{"ordinal not allowed", &strict, 2, nil, []string{`parameter WIKI_ROLE does not allow "ordinal"`}},
		{"negative", cfg, -1, nil, []string{"--replicas -1: a StatefulSet has at least one pod"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := wikiOptions()
			o.Values = allRequired()
			for k, v := range c.set {
				o.Values[k] = v
			}
			o.Replicas = c.replicas
			_, err := Kubernetes(c.cfg, o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nlacks %q", err, w)
				}
			}
		})
	}
}
