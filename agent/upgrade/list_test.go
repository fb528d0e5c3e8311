package upgrade

import (
	"path"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

// FuzzVolumeList checks what prepare relies on: every path of the volume list that
// validation does not flag is absolute, clean, unique, outside the volume, the template and
// the temporary trees, and not inside another accepted path. Problems carry file and line.
func FuzzVolumeList(f *testing.F) {
	f.Add([]byte("/etc/x\n/etc/x/y\n/etc/x\n/run/a\n/data/b\netc/c\n/d/../e\n/opt/y optional\n"))
	f.Add([]byte("/\n/usr/share/appagent\n/usr\n/var/tmp/x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rep config.Report
		v := config.Volume{Path: config.DefaultVolume, Template: config.DefaultTemplate}
		paths := config.LoadPathsFile("list", data, &rep)
		config.ValidateVolumePaths(v, paths, &rep)
		flagged := map[int]bool{}
		for _, p := range rep.Problems {
			if p.File != "list" || p.Line < 1 {
				t.Fatalf("problem without location: %+v", p)
			}
			if p.Severity == config.Error {
				flagged[p.Line] = true
			}
		}
		var ok []string
		for _, p := range paths {
			if !flagged[p.Line] {
				ok = append(ok, p.Path)
			}
		}
		seen := map[string]bool{}
		for _, p := range ok {
			if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
				t.Fatalf("accepted %q", p)
			}
			if seen[p] {
				t.Fatalf("accepted %q twice", p)
			}
			seen[p] = true
			for _, bad := range append([]string{v.Path, v.Template}, config.TemporaryPaths...) {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Fatalf("accepted %q under %q", p, bad)
				}
			}
			for _, holder := range []string{v.Path, v.Template} {
				if strings.HasPrefix(holder, p+"/") {
					t.Fatalf("accepted %q, which holds %q", p, holder)
				}
			}
		}
		for _, a := range ok {
			for _, b := range ok {
				if a != b && strings.HasPrefix(b, a+"/") {
					t.Fatalf("accepted %q inside %q", b, a)
				}
			}
		}
	})
}

// TestVolumeListProblemsAtOnce: every kind of list problem in one run, each located.
func TestVolumeListProblemsAtOnce(t *testing.T) {
	list := "/etc/app\n/etc/app/conf.d\nrelative\n/etc/../x\n/proc/x\n/data/y\n/etc/app\n"
	var rep config.Report
	paths := config.LoadPathsFile("volume-data-list", []byte(list), &rep)
	config.ValidateVolumePaths(config.Volume{Path: "/data", Template: config.DefaultTemplate}, paths, &rep)
	lines := map[int]bool{}
	for _, p := range rep.Problems {
		lines[p.Line] = true
	}
	for _, l := range []int{2, 3, 4, 5, 6, 7} {
		if !lines[l] {
			t.Errorf("no problem reported for line %d:\n%s", l, rep.String())
		}
	}
	if lines[1] {
		t.Errorf("line 1 is fine:\n%s", rep.String())
	}
}
