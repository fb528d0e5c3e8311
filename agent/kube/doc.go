// Package kube writes what deploys an appagent image on Kubernetes (a StatefulSet, its
// Services, the parameters' ConfigMap and Secret) and on OpenShift (a Template that adds a
// Route, a ServiceAccount and its SCC binding), from the image's declaration alone.
//
// It only writes manifests: it never talks to a cluster, and what happens inside the pod (the
// probes' answers, the parameter files) belongs to health and params. The objects are the
// official types (k8s.io/api, github.com/openshift/api), so what is printed is what the API
// server decodes.
package kube
