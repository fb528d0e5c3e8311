package kube

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/params"
)

// Options are what the declaration cannot know: where and how this copy is deployed.
type Options struct {
	// Image is the image reference the pod runs (required).
	Image string
	// Name of the objects (default: from the image's repository name, e.g. wiki for
	// registry.example.org/team/wiki:1.2).
	Name string
	// Namespace, when set, is written into every object.
	Namespace string
	// StorageSize is the volume claim's size (default DefaultStorageSize).
	StorageSize string
	// StorageClass is the claim's storage class (default: the cluster's default class).
	StorageClass string
	// ClusterDomain is the cluster's DNS domain, for the identity parameter's FQDN.
	ClusterDomain string
	// Values are parameter values given on the command line (--set): the only values the
	// generator writes. Everything else keeps the image's default or stays unset.
	Values map[string]string
	// PreStop halts systemd from a preStop hook, for clusters whose API has no
	// lifecycle.stopSignal (before Kubernetes 1.33, or the ContainerStopSignals gate off) and
	// whose runtime ignores the image's STOPSIGNAL.
	PreStop bool
	// OpenShift writes a Template (with a Route per HTTP port and the SCC binding).
	OpenShift bool
	// SCC is the SecurityContextConstraints the OpenShift service account may use.
	SCC string
	// Replicas is the StatefulSet's number of pods (default 1). More than one needs the
	// declaration's replication: pod NAME-0 is the primary, the others join it.
	Replicas int
}

// Defaults for Options.
const (
	DefaultStorageSize   = "10Gi"
	DefaultClusterDomain = "cluster.local"
	DefaultSCC           = "nested-container"
)

// maxName keeps a StatefulSet name short enough for the label its controller adds to each pod
// (controller-revision-hash: NAME-<10 characters>, at most 63).
const maxName = 52

var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// NameFromImage derives the objects' name from an image reference: the last path element of
// the repository, without tag or digest, lower-cased, with other characters turned to '-'.
func NameFromImage(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	last := ref[strings.LastIndex(ref, "/")+1:]
	last, _, _ = strings.Cut(last, ":")
	var b strings.Builder
	for _, r := range strings.ToLower(last) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	n = strings.TrimLeft(n, "0123456789-")
	if len(n) > maxName {
		n = strings.TrimRight(n[:maxName], "-")
	}
	return n
}

// complete fills in defaults and checks the options against the declaration; every problem
// is reported at once, each naming its flag or parameter.
func (o *Options) complete(cfg *config.Config) error {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if o.Image == "" {
		add("--image: the image reference the pod runs is required (like registry.example.org/wiki:1.0)")
	} else if strings.ContainsAny(o.Image, " \t\n") {
		add("--image %q: an image reference has no spaces", o.Image)
	}
	if o.Name == "" {
		o.Name = NameFromImage(o.Image)
	}
	if o.Image != "" && (!dnsLabel.MatchString(o.Name) || len(o.Name) > maxName) {
		add("--name %q: must be lower case letters, digits and '-', start with a letter, at most %d characters", o.Name, maxName)
	}
	if o.Namespace != "" && (!dnsLabel.MatchString(o.Namespace) || len(o.Namespace) > 63) {
		add("--namespace %q: must be a DNS label (lower case letters, digits and '-')", o.Namespace)
	}
	if o.StorageSize == "" {
		o.StorageSize = DefaultStorageSize
	}
	if q, err := resource.ParseQuantity(o.StorageSize); err != nil || q.Sign() <= 0 {
		add("--storage %q: not a size (like 10Gi or 500Mi)", o.StorageSize)
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = DefaultClusterDomain
	}
	if o.SCC == "" {
		o.SCC = DefaultSCC
	}
	declared := map[string]config.Parameter{}
	var names []string
	for _, p := range cfg.Parameters {
		declared[p.Name] = p
		names = append(names, p.Name)
	}
	keys := make([]string, 0, len(o.Values))
	for k := range o.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := declared[k]
		if !ok {
			msg := fmt.Sprintf("--set %s: not a parameter of this image", k)
			if s := config.Suggest(k, names); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
			}
			add("%s", msg)
			continue
		}
		v := o.Values[k]
		if v == "" && !p.Required && p.Default == nil {
			continue // empty clears, as at run time
		}
		if _, err := params.Check(p, v); err != nil {
			add("--set %s: %v", k, err)
		}
	}
	o.completeReplicas(cfg, declared, add)
	if len(problems) > 0 {
		return fmt.Errorf("kube: %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

// completeReplicas checks --replicas and, for more than one pod, gives every pod its role by
// its ordinal and the primary's address in the headless Service: NAME-0.NAME, a name that
// resolves in the namespace from the pod's start (PublishNotReadyAddresses).
func (o *Options) completeReplicas(cfg *config.Config, declared map[string]config.Parameter, add func(string, ...any)) {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 {
		add("--replicas %d: a StatefulSet has at least one pod", o.Replicas)
		return
	}
	if o.Replicas == 1 {
		return
	}
	r := cfg.Replication
	if r == nil {
		add("--replicas %d: the image declares no replication: (docs/replication.md), so a second pod could only start a second, separate application on its own volume", o.Replicas)
		return
	}
	values := make(map[string]string, len(o.Values)+2)
	for k, v := range o.Values {
		values[k] = v
	}
	if v, given := values[r.Role]; given && v != config.RoleOrdinal {
		add("--set %s=%s: with --replicas %d each pod's role comes from its ordinal (%s-0 is the primary); leave %s out or set it to %s",
			r.Role, v, o.Replicas, o.Name, r.Role, config.RoleOrdinal)
	}
	values[r.Role] = config.RoleOrdinal
	if _, err := params.Check(declared[r.Role], config.RoleOrdinal); err != nil {
		add("--replicas %d: the pods take their role from their ordinal, and parameter %s does not allow %q (%v); add %s to its one_of", o.Replicas, r.Role, config.RoleOrdinal, err, config.RoleOrdinal)
	}
	if _, given := values[r.Primary]; !given {
		values[r.Primary] = PrimaryAddress(o)
	}
	o.Values = values
}

// PrimaryAddress is where replicas find the primary: pod 0 in the headless Service.
func PrimaryAddress(o *Options) string { return o.Name + "-0." + o.Name }
