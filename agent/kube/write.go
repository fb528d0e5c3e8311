package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// Formats are the output formats of `appagent kube`.
var Formats = []string{"yaml", "json"}

func jsonRaw(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	return b, nil
}

// WriteDocuments prints objects as YAML documents (with header as comment lines) or as one
// JSON List, both of which kubectl apply -f takes.
func WriteDocuments(w io.Writer, format, header string, docs []Document) error {
	if format == "json" {
		list := map[string]any{"apiVersion": "v1", "kind": "List", "items": docs}
		return writeJSON(w, list)
	}
	var b bytes.Buffer
	writeHeader(&b, header)
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := yaml.Marshal(d)
		if err != nil {
			return fmt.Errorf("kube: %w", err)
		}
		b.Write(y)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteObject prints one object (the Template) as YAML or JSON.
func WriteObject(w io.Writer, format, header string, obj any) error {
	if format == "json" {
		return writeJSON(w, obj)
	}
	y, err := yaml.Marshal(obj)
	if err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	var b bytes.Buffer
	writeHeader(&b, header)
	b.Write(y)
	_, err = w.Write(b.Bytes())
	return err
}

func writeHeader(b *bytes.Buffer, header string) {
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		if header == "" {
			break
		}
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	return nil
}
