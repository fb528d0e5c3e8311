package params

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

func TestApplyIdentity(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1\tlocalhost\n10.0.0.9\tother\n"), 0o644)
	cfg := &config.Config{Identity: "FQDN"}
	set := &Set{Values: []Value{{Name: "FQDN", Value: "wiki.example.test", Source: FromEnv}}}
	var out strings.Builder
	var setTo string
	o := IdentityOptions{
		Hosts:       hosts,
		Hostname:    func() (string, error) { return "abc123", nil },
		SetHostname: func(n string) error { setTo = n; return nil },
		Addresses: func() ([]net.Addr, error) {
			return []net.Addr{&net.IPNet{IP: net.ParseIP("127.0.0.1")}, &net.IPNet{IP: net.ParseIP("10.88.0.5")}}, nil
		},
		Out: &out,
	}
	ApplyIdentity(cfg, set, o)
	ApplyIdentity(cfg, set, o) // idempotent
	data, _ := os.ReadFile(hosts)
	want := "127.0.0.1\tlocalhost\n10.0.0.9\tother\n10.88.0.5\twiki.example.test wiki\t# appagent identity (FQDN)\n"
	if string(data) != want {
		t.Errorf("hosts =\n%q\nwant\n%q", data, want)
	}
	if setTo != "wiki.example.test" || !strings.Contains(out.String(), "hostname set to wiki.example.test") {
		t.Errorf("sethostname %q, out %q", setTo, out.String())
	}

	// Where the runtime forbids sethostname and /etc/hosts is read-only: say how to fix it.
	out.Reset()
	o.SetHostname = func(string) error { return syscall.EPERM }
	o.Hosts = filepath.Join(t.TempDir(), "missing-dir", "hosts")
	ApplyIdentity(cfg, set, o)
	for _, w := range []string{"--hostname wiki.example.test", "--add-host wiki.example.test:10.88.0.5"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}

	// No identity declared, or not set: nothing happens.
	out.Reset()
	ApplyIdentity(&config.Config{}, set, o)
	ApplyIdentity(cfg, &Set{Values: []Value{{Name: "FQDN", Source: Unset}}}, o)
	if out.Len() != 0 {
		t.Errorf("acted without an identity: %q", out.String())
	}
}
