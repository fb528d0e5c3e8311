package prepare

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Prepare on a directory tree: every build-time step leaves its mark, in order.
func TestPrepareRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, config.DefaultPath), `
volume:
  paths: [/etc/app, {path: /var/lib/missing, optional: true}]
parameters:
  - {name: APP_PORT, description: port, type: port, default: "8080"}
units: [app.service]
`)
	writeFile(t, filepath.Join(root, "etc/app/app.conf"), "listen 8080\n")
	var out bytes.Buffer
	if err := Prepare(Options{Root: root, Out: &out}); err != nil {
		t.Fatalf("Prepare: %v\n%s", err, out.String())
	}
	for _, want := range []string{"[started]  validate", "[finished] install appagent's units", "prepare: done"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if target, err := os.Readlink(filepath.Join(root, SystemUnitDir, "multi-user.target.wants/appagent.service")); err != nil || target != "../appagent.service" {
		t.Errorf("appagent.service not enabled: %q %v", target, err)
	}
	if target, err := os.Readlink(filepath.Join(root, "etc/app")); err != nil || target != "/data/etc/app" {
		t.Errorf("/etc/app is not a symlink to the volume: %q %v", target, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, config.DefaultTemplate, "etc/app/app.conf")); err != nil || string(b) != "listen 8080\n" {
		t.Errorf("template lacks /etc/app/app.conf: %q %v", b, err)
	}
	if target, err := os.Readlink(filepath.Join(root, InitLink)); err != nil || target != "/usr/bin/appagent" {
		t.Errorf("%s is not the link to appagent (the zero-flag entrypoint): %q %v", InitLink, target, err)
	}
	for _, p := range []string{"/usr/share/appagent/build-id", "/usr/share/appagent/fs-manifest",
		"/usr/lib/systemd/system-generators/appagent-generator"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s missing after prepare: %v", p, err)
		}
	}
}

// A broken declaration or a default that fails its own check stops prepare with exit code 3
// before anything in the image is changed.
func TestPrepareInvalidChangesNothing(t *testing.T) {
	for name, decl := range map[string]string{
		"relative path":   "volume:\n  paths: [/etc/app, etc/x]\n",
		"invalid default": "volume:\n  paths: [/etc/app]\nparameters:\n  - {name: P, description: p, type: port, default: \"99999\"}\n",
		"missing path":    "volume:\n  paths: [/etc/app, /etc/nothing-here]\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, config.DefaultPath), decl)
			writeFile(t, filepath.Join(root, "etc/app/app.conf"), "x")
			var out bytes.Buffer
			err := Prepare(Options{Root: root, Out: &out})
			if exitcode.Of(err) != exitcode.Config {
				t.Fatalf("exit code %d (%v), want %d\n%s", exitcode.Of(err), err, exitcode.Config, out.String())
			}
			if fi, err := os.Lstat(filepath.Join(root, "etc/app")); err != nil || !fi.IsDir() {
				t.Errorf("/etc/app was changed by a failed prepare")
			}
			if _, err := os.Lstat(filepath.Join(root, SystemUnitDir)); err == nil {
				t.Errorf("units were installed by a failed prepare")
			}
			// The caller prints the error; the progress output (the same build log) must
			// not list the problems a second time.
			for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n")[1:] {
				if strings.Contains(out.String(), line) {
					t.Errorf("progress output repeats the problem %q:\n%s", line, out.String())
				}
			}
		})
	}
}

// One bad entry must not hide another entry's "does not exist": all are reported in one run.
func TestPrepareReportsEveryPathProblemAtOnce(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, config.DefaultPath), "volume:\n  paths:\n    - /etc/app\n    - /etc/nothing-here\n  paths_file: /etc/volume-data-list\n")
	writeFile(t, filepath.Join(root, "etc/volume-data-list"), "/run/x\n")
	writeFile(t, filepath.Join(root, "etc/app/app.conf"), "x")
	var out bytes.Buffer
	err := Prepare(Options{Root: root, Out: &out})
	msg := fmt.Sprint(err)
	for _, want := range []string{`"/run/x": is under /run`, `"/etc/nothing-here": does not exist in the image`} {
		if !strings.Contains(msg, want) {
			t.Errorf("the report lacks %q:\n%s", want, msg)
		}
	}
}

// Issue 14's reproductions: on a one-line flow list (the README's style) one bad entry hid
// another entry's problem, because problems were matched to entries by file and line.
func TestPrepareFlowListEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name, decl, list string
		want             []string
	}{
		{"a bad entry beside a missing one", "volume:\n  paths: [/etc/app, etc/x, /etc/nothing-here]\n", "",
			[]string{`2 problems`, `:2:21: error: volume.paths: "etc/x": not an absolute path`, `:2:28: error: volume.paths: "/etc/nothing-here": does not exist in the image`}},
		{"nesting across paths_file beside a missing one", "volume:\n  paths: [/etc/app/sub, /etc/nothing-here]\n  paths_file: /etc/volume-data-list\n", "/etc/app\n",
			[]string{`2 problems`, `"/etc/app/sub": is inside "/etc/app" (/etc/volume-data-list:1)`, `:2:25: error: volume.paths: "/etc/nothing-here": does not exist in the image`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, config.DefaultPath), tc.decl)
			writeFile(t, filepath.Join(root, "etc/app/sub/app.conf"), "x")
			if tc.list != "" {
				writeFile(t, filepath.Join(root, "etc/volume-data-list"), tc.list)
			}
			err := Prepare(Options{Root: root, Out: io.Discard})
			msg := fmt.Sprint(err)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the report lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

// An image that has its own /usr/local/sbin/init keeps it; prepare says what that means.
func TestInstallInitLinkLeavesOthersAlone(t *testing.T) {
	for name, setup := range map[string]func(string) error{
		"a file":         func(p string) error { return os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755) },
		"another link":   func(p string) error { return os.Symlink("/lib/systemd/systemd", p) },
		"appagent's own": func(p string) error { return os.Symlink("/usr/bin/appagent", p) },
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			link := filepath.Join(root, InitLink)
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := setup(link); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Readlink(link)
			var out bytes.Buffer
			if err := InstallInitLink(root, &out); err != nil {
				t.Fatal(err)
			}
			after, _ := os.Readlink(link)
			if before != after {
				t.Errorf("link changed from %q to %q", before, after)
			}
			warned := strings.Contains(out.String(), "--systemd=always")
			if warned != (name != "appagent's own") {
				t.Errorf("warning %q", out.String())
			}
		})
	}
}
