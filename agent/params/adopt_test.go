package params

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

// TestAdopt: the configure stamp is written, given reconfigure parameters become pending,
// and each defaulted parameter is named (a secret's value never).
func TestAdopt(t *testing.T) {
	yaml := `version: 1
parameters:
  - {name: RELAY, description: relay, on_change: reconfigure}
  - {name: TITLE, description: title, default: Wiki}
  - {name: TOKEN, description: token, secret: true, default: s3cr3t}
  - {name: KIND, description: kind, default: a, on_change: reconfigure}
hooks:
  reconfigure: /bin/true
`
	cfg, rep := config.Parse("appagent.yaml", []byte(yaml))
	if rep.HasErrors() {
		t.Fatal(rep.Err())
	}
	cfg.Volume.Path = t.TempDir()
	set, err := Resolve(cfg, Inputs{Env: []string{"RELAY=mail"}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Adopt(cfg, set, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Volume.Path, StampsDir, ConfiguredStamp)); err != nil {
		t.Errorf("no configure stamp: %v", err)
	}
	pending, _ := os.ReadFile(filepath.Join(cfg.Volume.Path, StampsDir, ReconfigurePending))
	if !strings.Contains(string(pending), `APPAGENT_CHANGED="RELAY"`) && !strings.Contains(string(pending), "APPAGENT_CHANGED=RELAY") {
		t.Errorf("reconfigure-pending = %q", pending)
	}
	s := out.String()
	for _, want := range []string{`TITLE takes the image's default "Wiki"`, "TOKEN takes the image's default (a secret)", `KIND takes the image's default "a"`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "s3cr3t") || strings.Contains(s, "RELAY takes") {
		t.Errorf("output:\n%s", s)
	}
}
