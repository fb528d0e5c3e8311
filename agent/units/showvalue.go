package units

import (
	"fmt"
	"reflect"
	"strings"
)

// ShowValue renders a property's value as `systemctl show` prints the simple ones: yes/no,
// strings, space-separated string lists; a list of structures as "set" when it has entries.
func ShowValue(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case string:
		return x
	case []string:
		return strings.Join(x, " ")
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		if rv.Len() > 0 {
			return "set"
		}
		return ""
	}
	return fmt.Sprint(v)
}
