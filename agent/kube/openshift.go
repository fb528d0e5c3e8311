package kube

import (
	"fmt"

	routev1 "github.com/openshift/api/route/v1"
	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/params"
)

// ImageParameter is the Template parameter that holds the image reference.
const ImageParameter = "APPAGENT_IMAGE"

// generated is the expression OpenShift fills a generated secret with.
const generated = "[a-zA-Z0-9]{24}"

// OpenShift returns a Template (template.openshift.io/v1) holding the Kubernetes objects with
// a Template parameter for each declared parameter, a Route per HTTP port, and a
// ServiceAccount bound to the SCC systemd needs (Options.SCC).
func OpenShift(cfg *config.Config, o Options) (*templatev1.Template, error) {
	o.OpenShift = true
	if err := o.complete(cfg); err != nil {
		return nil, err
	}
	docs, err := objects(cfg, &o, "${"+ImageParameter+"}")
	if err != nil {
		return nil, err
	}
	extra := []any{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(&o, o.Name),
			AutomountServiceAccountToken: ptr(false)},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: meta(&o, o.Name+"-scc"),
			// OpenShift makes a ClusterRole that may "use" each SCC under this name.
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:openshift:scc:" + o.SCC},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: o.Name}},
		},
	}
	for _, p := range cfg.Ports {
		if !p.HTTP {
			continue
		}
		name := o.Name
		if httpPorts(cfg) > 1 {
			name = o.Name + "-" + p.Name
		}
		extra = append(extra, &routev1.Route{
			TypeMeta:   metav1.TypeMeta{APIVersion: "route.openshift.io/v1", Kind: "Route"},
			ObjectMeta: meta(&o, name),
			Spec: routev1.RouteSpec{
				To:   routev1.RouteTargetReference{Kind: "Service", Name: ServiceName(&o), Weight: ptr(int32(100))},
				Port: &routev1.RoutePort{TargetPort: intstr.FromString(p.Name)},
				TLS: &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge,
					InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect},
			},
		})
	}
	for _, obj := range extra {
		d, err := render(obj)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	t := &templatev1.Template{
		TypeMeta: metav1.TypeMeta{APIVersion: "template.openshift.io/v1", Kind: "Template"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Annotations: map[string]string{
			"openshift.io/display-name": o.Name,
			"description":               fmt.Sprintf("%s in one systemd container (appagent), all of its state on one volume", o.Name),
			"tags":                      "appagent,systemd",
		}},
		Message: fmt.Sprintf("%s starts in a StatefulSet; follow it with: oc logs -f statefulset/%s, and ask it with: oc exec %s-0 -- appagent status",
			o.Name, o.Name, o.Name),
		Parameters: []templatev1.Parameter{{
			Name: ImageParameter, DisplayName: "Image", Description: "the appagent image to run",
			Value: o.Image, Required: true,
		}},
	}
	for _, d := range docs {
		raw, err := jsonRaw(d)
		if err != nil {
			return nil, err
		}
		t.Objects = append(t.Objects, runtime.RawExtension{Raw: raw})
	}
	for _, p := range cfg.Parameters {
		if fromEnv(cfg, &o, p) {
			continue
		}
		tp := templatev1.Parameter{Name: p.Name, Description: p.Description, Required: p.Required}
		if v, ok := o.Values[p.Name]; ok {
			tp.Value = v
		} else if p.Default != nil {
			tp.Value = *p.Default
		} else if canGenerate(p) {
			tp.Generate, tp.From, tp.Required = "expression", generated, false
			tp.Description += " (generated when not given: oc extract secret/" + secretName(&o) + " --keys=" + p.Name + " --to=- shows it)"
		}
		t.Parameters = append(t.Parameters, tp)
	}
	return t, nil
}

// canGenerate tells whether OpenShift may make up a required secret: one the image alone uses
// (a password it sets, not one of another system), which a generated value satisfies.
func canGenerate(p config.Parameter) bool {
	if !p.Secret || !p.Required || len(p.OneOf) > 0 {
		return false
	}
	_, err := params.Check(p, "Ab3Cd4Ef5Gh6Ij7Kl8Mn9Op0")
	return err == nil
}

func httpPorts(cfg *config.Config) int {
	n := 0
	for _, p := range cfg.Ports {
		if p.HTTP {
			n++
		}
	}
	return n
}
