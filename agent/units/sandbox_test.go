package units

import (
	"reflect"
	"strings"
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

// TestNamespaceFailureExplained: a 226 exit says what needs the namespace and how to fix it.
func TestNamespaceFailureExplained(t *testing.T) {
	f := Failure{Unit: "app.service", Result: "exit-code", Code: "exited", Status: "226", ExitCode: 17,
		Why: namespaceWhy([]string{"BindPaths=/srv:/srv:rbind", "DynamicUser=yes"}), Log: []string{"app.service: Failed to set up mount namespacing: Permission denied"}}
	m := f.Message()
	for _, want := range []string{
		"app.service failed: exit status 226 (NAMESPACE",
		"\n  why: systemd could not set up the mount namespace that BindPaths=/srv:/srv:rbind, DynamicUser=yes needs",
		"--cap-add SYS_ADMIN", "Sandboxed units",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("report lacks %q:\n%s", want, m)
		}
	}
	if strings.Index(m, "why:") > strings.Index(m, "log lines") {
		t.Errorf("the explanation must come before the log lines:\n%s", m)
	}
}
