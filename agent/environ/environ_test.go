package environ

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "environ")
	if err := os.WriteFile(p, []byte("A=1\x00B=two words\x00C=x\ny\x00\x00D=x=y\x00A=2\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := Read(p)
	if err != nil || strings.Join(env, "|") != "A=1|B=two words|C=x\ny|D=x=y|A=2" {
		t.Errorf("Read = %q, %v", env, err)
	}
	m := Map(env)
	if m["A"] != "2" || m["D"] != "x=y" || m["C"] != "x\ny" || len(m) != 4 {
		t.Errorf("Map = %q", m)
	}
	if _, err := ReadMap(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "the container's environment") {
		t.Errorf("missing file: %v", err)
	}
}
