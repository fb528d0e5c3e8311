//go:build appagent_kube

// The kube command itself, in the appagent-kube binary only (make build: go build -tags
// appagent_kube, named appagent-kube). It links k8s.io/api and openshift/api, whose code and
// data made the binary 5 MB and every in-container appagent process 3 MB larger; the
// in-container appagent's kube (cmd_kube_exec.go) runs this binary instead.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/kube"
)

// setFlag collects repeated NAME=VALUE flags.
type setFlag struct {
	m    map[string]string
	file bool // --set-file: VALUE is a file whose content is the value
}

func (s *setFlag) String() string { return "" }
func (s *setFlag) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return errors.New("expected NAME=VALUE")
	}
	if s.file {
		b, err := os.ReadFile(val)
		if err != nil {
			return err
		}
		val = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r") // as appagent reads value files
	}
	if _, dup := s.m[name]; dup {
		return fmt.Errorf("%s is given twice", name)
	}
	s.m[name] = val
	return nil
}

func cmdKube() *command {
	var (
		o       kube.Options
		cfgArg  string
		format  string
		values  = map[string]string{}
		openshi bool
	)
	return &command{
		name:    "kube",
		summary: kubeSummary,
		help: `Prints, from the image's declaration alone, what deploys it on Kubernetes: a StatefulSet
with one replica (the volume from a claim at volume.path, /run, /run/lock and /tmp in memory,
hostUsers: false, a read-only root, only the capabilities systemd needs, probes answered by
appagent status, stop signal SIGRTMIN+3), its headless Service and a Service for the declared
ports, and the parameters: non-secret ones in a ConfigMap, secret ones in a Secret, both
mounted as files at /run/secrets (never in the environment).

    appagent kube --config appagent.yaml --image registry.example.org/wiki:1.0 \
        --set WIKI_ADMIN_EMAIL=ops@example.org --set-file WIKI_ADMIN_PASSWORD=pw.txt \
        | kubectl apply -f -

Only values given with --set or --set-file are written; a required parameter without one is
a placeholder that the API server refuses, so nothing starts without it. The declaration can
also be read from the image itself:

    podman run --rm --entrypoint cat IMAGE /etc/appagent/appagent.yaml | appagent kube --config - --image IMAGE

--replicas N (N > 1) deploys a primary and N-1 replicas of an image that declares
replication: each pod's role comes from its ordinal (NAME-0 is the primary), the replicas
join the primary at NAME-0.NAME, and the ports' Service sends clients to the primary only
(docs/replication.md):

    appagent kube --image IMAGE --replicas 2 --set-file REPLICATION_PASSWORD=repl.txt ...

--openshift prints a Template instead (a Template parameter for each declared parameter, a
Route for each HTTP port, a ServiceAccount bound to the SCC --scc names):

    appagent kube --openshift --image IMAGE > template.yaml
    oc process -f template.yaml -p WIKI_ADMIN_EMAIL=ops@example.org | oc apply -f -

See docs/kubernetes.md and docs/openshift.md.`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage, exitcode.Config},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cfgArg, "config", config.DefaultPath, "the image's declaration (appagent.yaml); - reads it from standard input")
			fs.StringVar(&o.Image, "image", "", "the image reference the pod runs (required)")
			fs.StringVar(&o.Name, "name", "", "the objects' name (default: from the image's repository name)")
			fs.StringVar(&o.Namespace, "namespace", "", "write this namespace into every object (default: kubectl's)")
			fs.StringVar(&o.StorageSize, "storage", kube.DefaultStorageSize, "the volume claim's size")
			fs.StringVar(&o.StorageClass, "storage-class", "", "the volume claim's storage class (default: the cluster's default)")
			fs.StringVar(&o.ClusterDomain, "cluster-domain", kube.DefaultClusterDomain, "the cluster's DNS domain (for the identity parameter's FQDN)")
			fs.Var(&setFlag{m: values}, "set", "NAME=VALUE: a parameter's value (repeat for more)")
			fs.Var(&setFlag{m: values, file: true}, "set-file", "NAME=FILE: a parameter's value from a file (for secrets: not on the command line)")
			fs.IntVar(&o.Replicas, "replicas", 1, "pods in the StatefulSet; more than 1 needs the image's replication: (pod 0 is the primary, the others join it)")
			fs.BoolVar(&o.PreStop, "prestop", false, "halt systemd in a preStop hook (clusters without lifecycle.stopSignal, before Kubernetes 1.33)")
			fs.BoolVar(&openshi, "openshift", false, "print an OpenShift Template")
			fs.StringVar(&o.SCC, "scc", kube.DefaultSCC, "OpenShift: the SecurityContextConstraints the pod's service account may use")
			fs.StringVar(&format, "o", "yaml", "output format: yaml or json")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			if o.Replicas < 1 {
				return exitcode.Withf(exitcode.Usage, "--replicas %d: a StatefulSet here has at least one pod (scale it down with kubectl scale, not here)", o.Replicas)
			}
			if format != "yaml" && format != "json" {
				return exitcode.With(exitcode.Usage, fmt.Errorf("-o %q: one of: %s", format, strings.Join(kube.Formats, ", ")))
			}
			cfg, err := config.Load(cfgArg)
			if err != nil {
				return exitcode.With(exitcode.Config, err)
			}
			o.Values = values
			from := cfgArg
			if from == config.Stdin {
				from = "the declaration on standard input"
			}
			header := fmt.Sprintf("Generated by appagent kube from %s for %s; regenerate rather than edit.", from, o.Image)
			if openshi {
				t, err := kube.OpenShift(cfg, o)
				if err != nil {
					return exitcode.With(exitcode.Usage, err)
				}
				return kube.WriteObject(env.stdout, format, header+"\nDeploy: oc process -f FILE -p NAME=VALUE ... | oc apply -f -", t)
			}
			docs, err := kube.Kubernetes(cfg, o)
			if err != nil {
				return exitcode.With(exitcode.Usage, err)
			}
			return kube.WriteDocuments(env.stdout, format, header+"\nDeploy: ... | kubectl apply -f -   (a <<required: ...>> value must be given first)", docs)
		},
	}
}
