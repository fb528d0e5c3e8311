package nspawn

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

// modulePath is the module whose cmd/appagent Binary builds.
const modulePath = "github.com/appagent/appagent"

var (
	binMu   sync.Mutex
	binPath string
	binErr  error
)

// Binary returns the appagent binary built from this repository (go build ./cmd/appagent),
// once per test process; later calls return the same path. It is built as `make build` does
// (CGO_ENABLED=0), so the roots of every suite run the binary users ship.
func Binary(t testing.TB) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if binPath == "" && binErr == nil {
		start := time.Now()
		binPath, binErr = buildBinary("appagent")
		if binErr == nil {
			t.Logf("nspawn: built %s in %s", binPath, time.Since(start).Round(time.Millisecond))
		}
	}
	if binErr != nil {
		t.Fatalf("nspawn: build appagent: %v", binErr)
	}
	return binPath
}

var (
	knobsMu   sync.Mutex
	knobsPath string
	knobsErr  error
)

// KnobsTag is the build tag under which appagent honours its test-only knobs (the stall
// knob of populate and upgrade); the production build does not.
const KnobsTag = "appagent_testknobs"

// KnobsBinary is appagent built with KnobsTag, for tests that make init stall and kill it.
// Bind it into a container beside the production binary; never install it as /usr/bin/appagent.
func KnobsBinary(t testing.TB) string {
	t.Helper()
	knobsMu.Lock()
	defer knobsMu.Unlock()
	if knobsPath == "" && knobsErr == nil {
		knobsPath, knobsErr = buildBinary("appagent-testknobs", "-tags", KnobsTag)
	}
	if knobsErr != nil {
		t.Fatalf("nspawn: build appagent with %s: %v", KnobsTag, knobsErr)
	}
	return knobsPath
}

var (
	taggedMu sync.Mutex
	tagged   = map[string]string{}
)

// TaggedBinary is appagent built with a build tag, once per test process: a benchmark's
// baseline built from code the production binary does not contain (appagent_handdbus, the
// D-Bus client status replaced). Bind it beside the production binary, never in its place.
func TaggedBinary(t testing.TB, tag string) string {
	t.Helper()
	taggedMu.Lock()
	defer taggedMu.Unlock()
	if p, ok := tagged[tag]; ok {
		return p
	}
	p, err := buildBinary("appagent-"+tag, "-tags", tag)
	if err != nil {
		t.Fatalf("nspawn: build appagent with %s: %v", tag, err)
	}
	tagged[tag] = p
	return p
}

func buildBinary(name string, flags ...string) (string, error) {
	mod, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	od, err := harness.OwnerDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(od, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	goTool, err := goCommand()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(goTool, append(append([]string{"build"}, flags...), "-o", out, "./cmd/appagent")...)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build -o %s ./cmd/appagent in %s: %w\n%s", out, mod, err, b)
	}
	return out, nil
}

// goCommand finds the go tool: PATH, then the toolchain that built this test binary.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	for _, p := range []string{filepath.Join(runtime.GOROOT(), "bin", "go"), "/usr/local/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no go tool in PATH or at /usr/local/go/bin/go")
}

// ModuleRoot finds this repository's root: the nearest directory, from the working directory
// up, whose go.mod declares module github.com/appagent/appagent.
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if f, err := os.Open(filepath.Join(d, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); line == "module "+modulePath {
					f.Close()
					return d, nil
				}
			}
			f.Close()
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("no go.mod of %s in %s or above (run the tests inside the repository)", modulePath, wd)
		}
	}
}
