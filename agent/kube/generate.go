package kube

import (
	"encoding/json"
	"fmt"

	"github.com/appagent/appagent/agent/config"
)

// Document is one object as it is printed: the official type rendered to its JSON form, then
// trimmed of the empty fields the types always write (creationTimestamp: null, status: {}),
// with placeholders written where a value is missing.
type Document map[string]any

// Kubernetes returns the objects that deploy the declared application: the parameters'
// ConfigMap and Secret, the Services and the StatefulSet, in the order kubectl should apply
// them.
func Kubernetes(cfg *config.Config, o Options) ([]Document, error) {
	o.OpenShift = false
	if err := o.complete(cfg); err != nil {
		return nil, err
	}
	return objects(cfg, &o, o.Image)
}

func objects(cfg *config.Config, o *Options, image string) ([]Document, error) {
	cm, sec, holes := paramObjects(cfg, o)
	var objs []any
	if paramsProjection(cfg, o) != nil {
		objs = append(objs, cm, sec)
	}
	for _, s := range services(cfg, o) {
		objs = append(objs, s)
	}
	objs = append(objs, statefulSet(cfg, o, image, identityEnv(cfg, o)))
	var docs []Document
	for _, obj := range objs {
		d, err := render(obj)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	for _, h := range holes {
		for _, d := range docs {
			if d["kind"] != h.kind {
				continue
			}
			m, _ := d[h.field].(map[string]any)
			if m == nil {
				m = map[string]any{}
				d[h.field] = m
			}
			m[h.key] = PlaceholderText(h.key)
		}
	}
	for _, d := range docs {
		for _, f := range []string{"data", "stringData", "binaryData"} {
			if m, ok := d[f].(map[string]any); ok && len(m) == 0 {
				delete(d, f)
			}
		}
	}
	return docs, nil
}

func render(obj any) (Document, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("kube: render %T: %w", obj, err)
	}
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("kube: render %T: %w", obj, err)
	}
	trim(d)
	return d, nil
}

// trim drops what the Go types write for unset values and a reader would take for settings.
func trim(m map[string]any) {
	delete(m, "status") // a manifest states what is wanted; the cluster writes the status
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			if k == "creationTimestamp" {
				delete(m, k)
			}
		case map[string]any:
			trim(x)
			if len(x) == 0 && (k == "metadata" || k == "resources" || k == "strategy" || k == "updateStrategy") {
				delete(m, k)
			}
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					trim(em)
				}
			}
		}
	}
}
