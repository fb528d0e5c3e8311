//go:build appagent_kube

package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/kube"
	"github.com/appagent/appagent/agent/status"
	"github.com/appagent/appagent/agent/units"
)

// The probes appagent kube writes are commands this binary takes: the path the image installs
// it at, the status command, and flags its flag set accepts (integration/kube_test.go runs them
// in the booted wiki).
func TestKubeProbesAreStatusCommands(t *testing.T) {
	for _, p := range status.Probes {
		cmd := kube.ProbeCommand(string(p))
		if cmd[0] != units.Binary || cmd[1] != "status" {
			t.Errorf("probe %s: %v is not %s status", p, cmd, units.Binary)
			continue
		}
		c := find("status")
		fs := flag.NewFlagSet("status", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		if err := fs.Parse(cmd[2:]); err != nil {
			t.Errorf("probe %s: %v: %v", p, cmd, err)
		}
		if got := fs.Lookup("probe").Value.String(); got != string(p) {
			t.Errorf("probe %s: --probe is %q", p, got)
		}
	}
}

// appagent kube end to end through the command line: placeholders without values, values
// with --set and --set-file, every flag problem at once (exit 2).
func TestKubeCommand(t *testing.T) {
	decl := "../../examples/wiki/appagent.yaml"
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := runCommandTo(find("kube"), append([]string{"--config", decl}, args...), &out, &errb)
		return out.String(), errb.String(), int(code)
	}
	out, _, code := run("--image", "appagent-wiki:latest")
	if code != 0 || !strings.Contains(out, "<<required: give WIKI_ADMIN_PASSWORD") || !strings.Contains(out, "kind: StatefulSet") {
		t.Errorf("exit %d:\n%.400s", code, out)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("sentinel-from-a-file\n"), 0o600)
	out, _, code = run("--image", "appagent-wiki:latest", "--set", "WIKI_ADMIN_EMAIL=a@example.org", "--set-file", "WIKI_ADMIN_PASSWORD="+pw, "-o", "json")
	if code != 0 || strings.Contains(out, "<<required") || !strings.Contains(out, `"WIKI_ADMIN_PASSWORD": "sentinel-from-a-file"`) || !strings.Contains(out, `"kind": "List"`) {
		t.Errorf("exit %d:\n%.600s", code, out)
	}
	_, errs, code := run("--set", "SMTP_PORT=smtp", "--storage", "big")
	if code != 2 || !strings.Contains(errs, "--image") || !strings.Contains(errs, "--set SMTP_PORT") || !strings.Contains(errs, `--storage "big"`) {
		t.Errorf("exit %d, want 2 with every problem:\n%s", code, errs)
	}
	out, _, code = run("--openshift", "--image", "x")
	if code != 0 || !strings.Contains(out, "kind: Template") {
		t.Errorf("--openshift: exit %d:\n%.300s", code, out)
	}
	out, _, code = run("--image", "x", "--replicas", "2")
	if code != 0 || !strings.Contains(out, "replicas: 2") || !strings.Contains(out, "statefulset.kubernetes.io/pod-name: x-0") {
		t.Errorf("--replicas 2: exit %d:\n%.300s", code, out)
	}
	if _, errs, code := run("--image", "x", "--replicas", "0"); code != 2 || !strings.Contains(errs, "--replicas 0") {
		t.Errorf("--replicas 0: exit %d %s", code, errs)
	}
}
