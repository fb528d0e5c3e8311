package kube

import (
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/params"
	"github.com/appagent/appagent/agent/preflight"
	"github.com/appagent/appagent/agent/units"
)

// BaseCapabilities are what systemd and the usual units need in the container, and no more:
// podman's default set, with which every podman integration test (the wiki included) boots.
// Docker's default adds AUDIT_WRITE, MKNOD and NET_RAW, which nothing here uses. The
// declaration's container.capabilities add to them.
var BaseCapabilities = []corev1.Capability{
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
	"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// The pod's mounts besides the volume: systemd wants /run and /run/lock as tmpfs (the
// preflight's api-mounts and run-tmpfs checks), /tmp must be writable under a read-only root,
// and /run/secrets is where appagent reads parameter files (params.DefaultSecretsDir).
var memoryMounts = []struct{ name, path string }{
	{"run", "/run"}, {"run-lock", "/run/lock"}, {"tmp", "/tmp"},
}

const (
	dataVolume   = "data"
	paramsVolume = "params"
	// probePeriod and probeTimeout: status answers within 3 s (it bounds its own systemd
	// calls), a loaded node may take longer to start the exec.
	probePeriod  = 10
	probeTimeout = 10
	// bootAllowance is what a start takes besides the hooks (systemd, the agent, the units).
	bootAllowance = 5 * time.Minute
	// unboundedHook is assumed for a hook declared without a timeout.
	unboundedHook = 30 * time.Minute
	// GracePeriod covers systemd's default stop timeout of a unit (90 s) and the agent's
	// last forwarded lines.
	GracePeriod int64 = 120
	// HaltCommand stops systemd the way SIGRTMIN+3 does, for the preStop hook.
	HaltCommand = "/bin/systemctl"
)

// ProbeCommand is the exec command of a probe (health.Probe names).
func ProbeCommand(probe string) []string {
	return []string{units.Binary, "status", "--probe=" + probe}
}

// StartupAllowance is how long the startupProbe waits: a start plus the longest hook that
// can run during one (configure on the first, upgrade on a new image, reconfigure after a
// change), each at its declared timeout.
func StartupAllowance(cfg *config.Config) time.Duration {
	longest := time.Duration(0)
	for _, h := range []*config.Hook{cfg.Hooks.Configure, cfg.Hooks.Upgrade, cfg.Hooks.Reconfigure} {
		if h == nil {
			continue
		}
		d := h.Timeout.Duration
		if d <= 0 {
			d = unboundedHook
		}
		longest = max(longest, d)
	}
	return bootAllowance + longest
}

func labels(o *Options) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       o.Name,
		"app.kubernetes.io/managed-by": "appagent",
	}
}

func selector(o *Options) map[string]string {
	return map[string]string{"app.kubernetes.io/name": o.Name}
}

func meta(o *Options, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(o)}
}

func statefulSet(cfg *config.Config, o *Options, image string, identity *corev1.EnvVar) *appsv1.StatefulSet {
	sizeQ := resource.MustParse(o.StorageSize)
	claim := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: dataVolume, Labels: labels(o)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: sizeQ}},
		},
	}
	if o.StorageClass != "" {
		claim.Spec.StorageClassName = &o.StorageClass
	}
	pod := podSpec(cfg, o, image, identity)
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: meta(o, o.Name),
		Spec: appsv1.StatefulSetSpec{
			// Each pod has its own claim (appagent locks a volume to one container); more than
			// one pod is a primary and its replicas (replication:). The default pod management,
			// OrderedReady, starts pod N only when pod N-1 is ready: the primary answers before
			// the first replica joins it.
			Replicas:    ptr(int32(o.Replicas)),
			ServiceName: o.Name,
			Selector:    &metav1.LabelSelector{MatchLabels: selector(o)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(o)},
				Spec:       pod,
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
			// The data outlives the StatefulSet: deleting it never deletes the claim.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}
}

func podSpec(cfg *config.Config, o *Options, image string, identity *corev1.EnvVar) corev1.PodSpec {
	caps := append([]corev1.Capability{}, BaseCapabilities...)
	for _, c := range cfg.Container.Capabilities {
		caps = append(caps, corev1.Capability(c))
	}
	c := corev1.Container{
		Name:            o.Name,
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			Privileged:             ptr(false),
			RunAsUser:              ptr(int64(0)), // root in the pod's user namespace: systemd is PID 1
			RunAsNonRoot:           ptr(false),
			ReadOnlyRootFilesystem: ptr(cfg.Container.ReadOnlyRoot()),
			Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: caps},
			SeccompProfile:         &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		VolumeMounts:   []corev1.VolumeMount{{Name: dataVolume, MountPath: cfg.Volume.Path}},
		StartupProbe:   probe("started", int32(math.Ceil(StartupAllowance(cfg).Seconds()/probePeriod))),
		ReadinessProbe: probe("ready", 3),
		LivenessProbe:  probe("live", 3),
		Lifecycle:      &corev1.Lifecycle{StopSignal: ptr(corev1.SIGRTMINPLUS3)},
	}
	if o.PreStop {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{HaltCommand, "--no-block", "halt"}},
		}}
	}
	for _, p := range cfg.Ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: p.Name, ContainerPort: int32(p.Port), Protocol: corev1.Protocol(p.Protocol)})
	}
	var vols []corev1.Volume
	for _, m := range memoryMounts {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: m.name, MountPath: m.path})
		vols = append(vols, corev1.Volume{Name: m.name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
	}
	if pv := paramsProjection(cfg, o); pv != nil {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: paramsVolume, MountPath: params.DefaultSecretsDir, ReadOnly: true})
		vols = append(vols, corev1.Volume{Name: paramsVolume, VolumeSource: corev1.VolumeSource{Projected: pv}})
	}
	spec := corev1.PodSpec{
		// lifecycle.stopSignal is only accepted with the pod's OS named.
		OS:                            &corev1.PodOS{Name: corev1.Linux},
		HostUsers:                     ptr(false),
		TerminationGracePeriodSeconds: ptr(GracePeriod),
		// The application does not talk to the Kubernetes API, and the service links would
		// only add variables to systemd's environment.
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
		Containers:                   []corev1.Container{c},
		Volumes:                      vols,
	}
	if identity != nil {
		// The FQDN is NAME-0.NAME.NAMESPACE.svc.DOMAIN: the StatefulSet gives the pod its
		// name as hostname and the headless Service as subdomain.
		spec.Subdomain = o.Name
		spec.SetHostnameAsFQDN = ptr(true)
		spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "APPAGENT_POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APPAGENT_POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			*identity,
		}
	}
	if o.OpenShift {
		spec.ServiceAccountName = o.Name
		// The SCC that admitted the pod, for appagent doctor (preflight.SCCEnv).
		spec.Containers[0].Env = append(spec.Containers[0].Env, corev1.EnvVar{Name: preflight.SCCEnv,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['openshift.io/scc']"}}})
	}
	return spec
}

func probe(which string, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: ProbeCommand(which)}},
		PeriodSeconds:    probePeriod,
		TimeoutSeconds:   probeTimeout,
		FailureThreshold: failures,
	}
}

func ptr[T any](v T) *T { return &v }
