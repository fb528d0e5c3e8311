package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkKeys walks the YAML tree against the Go type it will be decoded into and reports every
// unknown key at its line, with a suggestion when it looks like a typo. yaml.v3's own
// KnownFields stops at the first error and names Go types; users need all of them, in YAML terms.
func checkKeys(file string, n *yaml.Node, t reflect.Type, key string, r *Report) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkKeys(file, c, t, key, r)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && reflect.PointerTo(t).Implements(unmarshalerType) {
			return // scalar short form (a path, a unit name, a command)
		}
		if n.Kind != yaml.MappingNode {
			if t == reflect.TypeOf(Duration{}) {
				return
			}
			r.Add(Problem{File: file, Line: n.Line, Column: n.Column, Key: key, Severity: Error,
				Message: fmt.Sprintf("expected a mapping (key: value), found %s", kindName(n))})
			return
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f
			names = append(names, name)
		}
		sort.Strings(names)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := joinKey(key, k.Value)
			if seen[k.Value] {
				r.Add(Problem{File: file, Line: k.Line, Column: k.Column, Key: sub, Severity: Error,
					Message: "key given twice"})
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", k.Value)
				if s := Suggest(k.Value, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else {
					msg += fmt.Sprintf("; known keys here: %s", strings.Join(names, ", "))
				}
				r.Add(Problem{File: file, Line: k.Line, Column: k.Column, Key: key, Severity: Error, Message: msg})
				continue
			}
			checkKeys(file, v, f.Type, sub, r)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return
			}
			r.Add(Problem{File: file, Line: n.Line, Column: n.Column, Key: key, Severity: Error,
				Message: fmt.Sprintf("expected a list, found %s", kindName(n))})
			return
		}
		for i, c := range n.Content {
			sub := fmt.Sprintf("%s[%d]", key, i)
			if c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
				// yaml.v3 drops it silently: a "-" with nothing after it.
				r.Add(Problem{File: file, Line: c.Line, Column: c.Column, Key: sub, Severity: Error,
					Message: "empty list entry; give it a value or remove the line"})
				continue
			}
			checkKeys(file, c, t.Elem(), sub, r)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			r.Add(Problem{File: file, Line: n.Line, Column: n.Column, Key: key, Severity: Error,
				Message: fmt.Sprintf("expected a single value, found %s", kindName(n))})
			return
		}
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			// yaml.v3 would truncate 1.5 to 1 without a word, and names Go types otherwise.
			if n.Tag != "!!int" && n.Tag != "!!null" {
				msg := fmt.Sprintf("expected a whole number, found %q", n.Value)
				if _, err := strconv.Atoi(n.Value); err == nil {
					msg += " (write it without quotes)"
				}
				r.Add(Problem{File: file, Line: n.Line, Column: n.Column, Key: key, Severity: Error, Message: msg})
			}
		case reflect.Bool:
			// yaml.v3 also takes YAML 1.1's yes/no/on/off (y, n) for a bool field.
			if n.Tag != "!!bool" && n.Tag != "!!null" && !yaml11Bool[n.Value] {
				r.Add(Problem{File: file, Line: n.Line, Column: n.Column, Key: key, Severity: Error,
					Message: fmt.Sprintf("expected true or false, found %q", n.Value)})
			}
		}
	}
}

var yaml11Bool = map[string]bool{}

func init() {
	for _, s := range strings.Fields("y Y yes Yes YES on On ON n N no No NO off Off OFF") {
		yaml11Bool[s] = true
	}
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}
