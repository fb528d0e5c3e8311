package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/appagent/appagent/agent/config"
)

// Where the parameters live: the non-secret ones in a ConfigMap, the secret ones in a Secret,
// both projected into one directory at /run/secrets, one file per parameter, which is where
// appagent reads them (params.DefaultSecretsDir). Files, not environment variables: a secret
// stays out of the pod's environment, and Kubernetes updates mounted files in place when the
// objects change.
func configMapName(o *Options) string { return o.Name + "-params" }
func secretName(o *Options) string    { return o.Name + "-secrets" }

// placeholder is a required parameter without a value. It is written into a base64 field (a
// Secret's data, a ConfigMap's binaryData) as text that is not base64, so that the API server
// refuses the object instead of starting the pod without the value.
type placeholder struct {
	kind, field, key string
}

// PlaceholderText is the text written for a required parameter without a value.
func PlaceholderText(name string) string {
	return fmt.Sprintf("<<required: give %s with appagent kube --set %s=VALUE, or write its value here in base64>>", name, name)
}

// identityEnv is the identity parameter's value when --set does not give one: the pod's own
// FQDN, which Kubernetes expands from the pod's name and namespace.
func identityEnv(cfg *config.Config, o *Options) *corev1.EnvVar {
	if cfg.Identity == "" {
		return nil
	}
	if _, given := o.Values[cfg.Identity]; given {
		return nil
	}
	return &corev1.EnvVar{Name: cfg.Identity,
		Value: fmt.Sprintf("$(APPAGENT_POD_NAME).%s.$(APPAGENT_POD_NAMESPACE).svc.%s", o.Name, o.ClusterDomain)}
}

// fromEnv tells whether a parameter is given by the environment instead of a file.
func fromEnv(cfg *config.Config, o *Options, p config.Parameter) bool {
	return p.Name == cfg.Identity && identityEnv(cfg, o) != nil
}

// paramObjects are the ConfigMap and the Secret. In a Template every parameter is a template
// parameter (${NAME}); otherwise only values given with --set are written, and a required
// parameter without one becomes a placeholder.
func paramObjects(cfg *config.Config, o *Options) (*corev1.ConfigMap, *corev1.Secret, []placeholder) {
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(o, configMapName(o)),
		Data:       map[string]string{},
	}
	sec := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta(o, secretName(o)),
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{},
	}
	var holes []placeholder
	for _, p := range cfg.Parameters {
		if fromEnv(cfg, o, p) {
			continue
		}
		v, given := o.Values[p.Name]
		switch {
		case o.OpenShift:
			v, given = "${"+p.Name+"}", true
		case !given && p.Required:
			if p.Secret {
				holes = append(holes, placeholder{"Secret", "data", p.Name})
			} else {
				holes = append(holes, placeholder{"ConfigMap", "binaryData", p.Name})
			}
			continue
		}
		if !given {
			continue
		}
		if p.Secret {
			sec.StringData[p.Name] = v
		} else {
			cm.Data[p.Name] = v
		}
	}
	return cm, sec, holes
}

// paramsProjection maps every declared parameter to its file. The sources are optional, so a
// parameter without a value is simply no file (the image's default applies), and a value
// added to the ConfigMap or Secret later appears as a file without a new pod.
func paramsProjection(cfg *config.Config, o *Options) *corev1.ProjectedVolumeSource {
	var plain, secret []corev1.KeyToPath
	for _, p := range cfg.Parameters {
		if fromEnv(cfg, o, p) {
			continue
		}
		if p.Secret {
			secret = append(secret, corev1.KeyToPath{Key: p.Name, Path: p.Name, Mode: ptr(int32(0o400))})
		} else {
			plain = append(plain, corev1.KeyToPath{Key: p.Name, Path: p.Name, Mode: ptr(int32(0o444))})
		}
	}
	if len(plain)+len(secret) == 0 {
		return nil
	}
	pv := &corev1.ProjectedVolumeSource{DefaultMode: ptr(int32(0o400))}
	if len(plain) > 0 {
		pv.Sources = append(pv.Sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: configMapName(o)}, Items: plain, Optional: ptr(true)}})
	}
	if len(secret) > 0 {
		pv.Sources = append(pv.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: secretName(o)}, Items: secret, Optional: ptr(true)}})
	}
	return pv
}
