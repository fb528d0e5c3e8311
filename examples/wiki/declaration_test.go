// Package wiki holds no Go code of its own: it is the example image (Containerfile,
// appagent.yaml, hooks, units). This test keeps its declaration valid as appagent evolves.
package wiki

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

// TestDeclarationIsValid parses appagent.yaml exactly as `appagent prepare` does and fails on
// any problem, warnings included: the example is what people copy.
func TestDeclarationIsValid(t *testing.T) {
	data, err := os.ReadFile("appagent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, rep := config.Parse("appagent.yaml", data)
	for _, p := range rep.Problems {
		t.Errorf("%v", p)
	}
	if cfg.Hooks.Configure == nil || cfg.Hooks.Upgrade == nil || cfg.Hooks.Reconfigure == nil {
		t.Errorf("the wiki needs configure, upgrade and reconfigure hooks")
	}
}

// TestImageFilesExist checks the references between the image's files without building it:
// every COPY source exists, and every /usr/libexec/wiki/ program that a hook, a unit or a
// cron line names is shipped in libexec/ and executable.
func TestImageFilesExist(t *testing.T) {
	cf, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cf), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "COPY" {
			continue
		}
		for _, src := range f[1 : len(f)-1] {
			if src == "appagent" { // copied in by the builder (scripts/demo.sh, the test harness)
				continue
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("Containerfile copies %s: %v", src, err)
			}
		}
	}

	var refs []string
	data, _ := os.ReadFile("appagent.yaml")
	refs = append(refs, string(data))
	for _, glob := range []string{"units/*", "config/*"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, string(b))
		}
	}
	progs := regexp.MustCompile(`/usr/libexec/wiki/([a-z-]+)`)
	seen := map[string]bool{}
	for _, text := range refs {
		for _, m := range progs.FindAllStringSubmatch(text, -1) {
			if seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			fi, err := os.Stat(filepath.Join("libexec", m[1]))
			if err != nil {
				t.Errorf("/usr/libexec/wiki/%s is named but not shipped: %v", m[1], err)
			} else if fi.Mode()&0o111 == 0 {
				t.Errorf("libexec/%s is not executable", m[1])
			}
		}
	}
	if len(seen) < 5 {
		t.Errorf("found only %d programs named in appagent.yaml and units/: %v", len(seen), seen)
	}
}
