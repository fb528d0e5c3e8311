package kube

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/appagent/appagent/agent/config"
)

// ServiceName is the ClusterIP Service that carries every declared port (HTTP ones for a Route
// or an Ingress, the others, like ssh and smtp, for clients in the cluster). The headless
// Service, named like the StatefulSet, gives the pod its DNS name.
func ServiceName(o *Options) string { return o.Name + "-svc" }

func servicePorts(cfg *config.Config) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, p := range cfg.Ports {
		out = append(out, corev1.ServicePort{Name: p.Name, Port: int32(p.Port), Protocol: corev1.Protocol(p.Protocol),
			TargetPort: intstr.FromString(p.Name)})
	}
	return out
}

func services(cfg *config.Config, o *Options) []*corev1.Service {
	headless := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(o, o.Name),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  selector(o),
			Ports:     servicePorts(cfg),
			// The pod's name resolves while it starts: a configure hook that needs the
			// container's own FQDN (the identity parameter) runs before it is ready.
			PublishNotReadyAddresses: true,
		},
	}
	out := []*corev1.Service{headless}
	if len(cfg.Ports) > 0 {
		out = append(out, &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: meta(o, ServiceName(o)),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: serviceSelector(o),
				Ports:    servicePorts(cfg),
			},
		})
	}
	return out
}

// serviceSelector picks the pods the ports' Service sends clients to: all of them, or with
// replicas only the primary (pod 0), which takes writes; the replicas are reached through
// the headless Service (NAME-1.NAME, …).
func serviceSelector(o *Options) map[string]string {
	sel := selector(o)
	if o.Replicas > 1 {
		sel["statefulset.kubernetes.io/pod-name"] = o.Name + "-0"
	}
	return sel
}
