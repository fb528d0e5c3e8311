package units

import (
	"reflect"
	"testing"
)

func TestSandboxing(t *testing.T) {
	for _, c := range []struct {
		props map[string]string
		want  []string
	}{
		// systemd runs PrivateTmp= and ProtectSystem= units unconfined where it cannot: not named.
		{map[string]string{"DynamicUser": "yes", "PrivateTmp": "yes", "ProtectSystem": "strict", "ProtectHome": "read-only"},
			[]string{"DynamicUser=yes"}},
		{map[string]string{"DynamicUser": "no", "PrivateTmp": "no", "BindPaths": "", "RootDirectory": ""}, nil},
		{map[string]string{"BindPaths": "/srv:/srv:rbind", "TemporaryFileSystem": "/var:ro"}, []string{"BindPaths=/srv:/srv:rbind", "TemporaryFileSystem=/var:ro"}},
		{map[string]string{"Unrelated": "yes"}, nil},
	} {
		if got := Sandboxing(c.props); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Sandboxing(%v) = %q, want %q", c.props, got, c.want)
		}
	}
}
