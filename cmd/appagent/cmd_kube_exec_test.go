//go:build !appagent_kube

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/testing/nspawn"
)

// appagent kube runs appagent-kube from next to itself with the command line untouched (flags,
// --help, the exit code), says where to get it when it is missing, and a copy of appagent under
// that name does not run itself again.
func TestKubeRunsAppagentKube(t *testing.T) {
	dir := t.TempDir()
	appagent := install(t, nspawn.Binary(t), filepath.Join(dir, "appagent"))
	decl, _ := filepath.Abs("../../examples/wiki/appagent.yaml")
	run := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(appagent, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"} // no appagent-kube in PATH
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	out, code := run("", "kube", "--config", decl, "--image", "x")
	if code != 1 || !strings.Contains(out, "separate binary appagent-kube") || !strings.Contains(out, "make build writes bin/appagent-kube") {
		t.Errorf("without appagent-kube: exit %d:\n%s", code, out)
	}

	install(t, nspawn.Binary(t), filepath.Join(dir, kubeBinary))
	out, code = run("", "kube", "--config", decl, "--image", "x")
	if code != 1 || !strings.Contains(out, "is not built with the kube command") {
		t.Errorf("appagent copied as appagent-kube: exit %d:\n%s", code, out)
	}

	install(t, nspawn.TaggedBinary(t, "appagent_kube"), filepath.Join(dir, kubeBinary))
	out, code = run("", "kube", "--config", decl, "--image", "x")
	if code != 0 || !strings.Contains(out, "kind: StatefulSet") {
		t.Errorf("exit %d:\n%.400s", code, out)
	}
	decl1, _ := os.ReadFile(decl)
	if out2, code := run(string(decl1), "kube", "--config", "-", "--image", "x"); code != 0 || strings.ReplaceAll(out2, "from the declaration on standard input", "from "+decl) != out {
		t.Errorf("--config - (the declaration on stdin): exit %d, output differs:\n%.400s", code, out2)
	}
	for _, args := range [][]string{{"kube", "--help"}, {"help", "kube"}} {
		if out, code := run("", args...); code != 0 || !strings.HasPrefix(out, "Usage: appagent kube [flags]") || !strings.Contains(out, "--replicas") {
			t.Errorf("%v: exit %d:\n%.300s", args, code, out)
		}
	}
	if out, code := run("", "kube", "--bogus"); code != 2 || !strings.Contains(out, "-bogus") {
		t.Errorf("kube --bogus: exit %d, want 2:\n%s", code, out)
	}
	if out, code := run("volume: {path: data}\n", "kube", "--config", "-", "--image", "x"); code != 3 || !strings.Contains(out, "<stdin>:1:") {
		t.Errorf("an invalid declaration on stdin: exit %d, want 3 naming <stdin>:\n%s", code, out)
	}
}

func install(t *testing.T, from, to string) string {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	os.Remove(to)
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}
