package upgrade

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/internal/atomicfile"
)

// The benchmarks compare appagent's volume work with the talk's runtime step
//
//	cd TEMPLATE && cp -npr --parents -t VOLUME *
//
// on a generated tree shaped like a wiki image's /etc, /var and /usr/share/mediawiki:
// 27,000 files (most of them small, a few large), 2,000+ directories, symlinks and hard
// links, 530 MB. The tree is generated once under /var/cache/appagent-test (not the repo).

const benchCache = "/var/cache/appagent-test"

type benchTree struct {
	root  string // image root: usr/share/appagent/{template,manifest.json,build-id}
	tmpl  string
	cfg   *config.Config
	files int
	bytes int64
}

var benchTrees = map[string]*benchTree{}

// genTree writes a tree of nSmall small files and nLarge large ones under tmpl.
func genTree(tmpl string, seed uint64, nSmall, nLarge int) error {
	r := rand.New(rand.NewPCG(seed, 1))
	tops := []string{"etc", "var/lib/app", "usr/share/mediawiki"}
	var dirs []string
	for i := 0; i < nSmall/12; i++ {
		top := tops[i%len(tops)]
		d := filepath.Join(top, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("s%03d", i/40))
		if i%5 == 0 {
			d = filepath.Join(d, "deeper")
		}
		dirs = append(dirs, d)
	}
	buf := make([]byte, 6<<20)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for i := 0; i < nSmall; i++ {
		d := filepath.Join(tmpl, dirs[i%len(dirs)])
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		// Sizes like config files and PHP sources: 200 B to 24 KiB.
		size := 200 + r.IntN(24<<10)
		off := r.IntN(len(buf) - size)
		name := filepath.Join(d, fmt.Sprintf("f%05d.php", i))
		if err := os.WriteFile(name, buf[off:off+size], 0o644); err != nil {
			return err
		}
		switch {
		case i%60 == 0:
			os.Symlink(fmt.Sprintf("f%05d.php", i), filepath.Join(d, fmt.Sprintf("l%05d", i)))
		case i%500 == 1:
			os.Link(name, filepath.Join(d, fmt.Sprintf("h%05d.php", i)))
		}
	}
	for i := 0; i < nLarge; i++ {
		d := filepath.Join(tmpl, "var/lib/app/data")
		os.MkdirAll(d, 0o750)
		size := 4<<20 + r.IntN(2<<20)
		buf[0], buf[1] = byte(i), byte(i>>8)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("big%03d.db", i)), buf[:size], 0o640); err != nil {
			return err
		}
	}
	return nil
}

// makeBenchImage returns an image root with a prepared template (cached on disk by key).
func makeBenchImage(b *testing.B, key string, nSmall, nLarge int, from string, change float64) *benchTree {
	b.Helper()
	if t := benchTrees[key]; t != nil {
		return t
	}
	root := filepath.Join(benchCache, "bench-tree-"+key)
	tmpl := filepath.Join(root, "usr/share/appagent/template")
	yaml := "version: 1\nvolume:\n  paths: [/etc, /var/lib/app, /usr/share/mediawiki]\n"
	cfg, rep := config.Parse("bench.yaml", []byte(yaml))
	if rep.HasErrors() {
		b.Fatal(rep.Err())
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/appagent/build-id")); err != nil {
		os.RemoveAll(root)
		if from == "" {
			if err := genTree(tmpl, 42, nSmall, nLarge); err != nil {
				b.Fatal(err)
			}
		} else {
			// A copy of another tree (hard links: cheap) with a fraction of files rewritten.
			if out, err := exec.Command("cp", "-al", filepath.Join(benchCache, "bench-tree-"+from), root).CombinedOutput(); err != nil {
				b.Fatalf("cp -al: %v %s", err, out)
			}
			os.Remove(filepath.Join(root, "usr/share/appagent/build-id"))
			r := rand.New(rand.NewPCG(7, 7))
			n := 0
			filepath.WalkDir(tmpl, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() && r.Float64() < change {
					data, _ := os.ReadFile(p)
					os.Remove(p) // new inode: the other tree keeps its version
					os.WriteFile(p, append(data, []byte("\n# changed in v2\n")...), 0o644)
					n++
				}
				return nil
			})
			b.Logf("tree %s: %d files changed", key, n)
		}
		m, err := BuildManifest(tmpl, []string{"etc", "usr/share/mediawiki", "var/lib/app"})
		if err != nil {
			b.Fatal(err)
		}
		m.BuildID = NewBuildID(time.Now())
		m.Format, m.Volume = 1, "/data"
		data, _ := m.Marshal()
		meta := filepath.Join(root, "usr/share/appagent")
		if err := atomicfile.Write(filepath.Join(meta, "manifest.json"), data, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := atomicfile.Write(filepath.Join(meta, "build-id"), []byte(m.BuildID+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "usr/share/appagent/manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := ParseManifest("bench", data)
	if err != nil {
		b.Fatal(err)
	}
	t := &benchTree{root: root, tmpl: tmpl, cfg: cfg, bytes: m.Bytes()}
	for _, e := range m.Entries {
		if e.Type == TypeFile {
			t.files++
		}
	}
	benchTrees[key] = t
	return t
}

func benchVol(b *testing.B, name string) string {
	b.Helper()
	v := filepath.Join(benchCache, name)
	os.RemoveAll(v)
	if err := os.MkdirAll(v, 0o755); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(v) })
	return v
}

func benchSync(b *testing.B, t *benchTree, vol string) time.Duration {
	b.Helper()
	var out bytes.Buffer
	start := time.Now()
	if _, err := Sync(Options{Config: t.cfg, Root: t.root, Volume: vol, Out: &out}); err != nil {
		b.Fatalf("sync: %v\n%s", err, out.String())
	}
	return time.Since(start)
}

func cpBaseline(b *testing.B, t *benchTree, vol string) time.Duration {
	b.Helper()
	start := time.Now()
	cmd := exec.Command("sh", "-c", `cd "$1" && cp -npr --parents -t "$2" *`, "sh", t.tmpl, vol)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("cp baseline: %v %s", err, out)
	}
	return time.Since(start)
}

func bigTree(b *testing.B) *benchTree {
	if testing.Short() {
		b.Skip("the benchmark tree is 530 MB")
	}
	return makeBenchImage(b, "v1-27k", 27000, 40, "", 0)
}

// BenchmarkPopulate: first population of an empty volume vs cp -npr --parents, same run.
func BenchmarkPopulate(b *testing.B) {
	t := bigTree(b)
	b.Logf("template: %d files, %.0f MB", t.files, float64(t.bytes)/1e6)
	// Warm the page cache for both (the numbers to beat are with a warm cache).
	cpBaseline(b, t, benchVol(b, "bench-vol-warm"))
	var ours, cp time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		v1 := benchVol(b, "bench-vol-cp")
		v2 := benchVol(b, "bench-vol-ours")
		// Each run starts with no dirty pages; the order alternates (the machine is shared).
		exec.Command("sync").Run()
		b.StartTimer()
		if i%2 == 0 {
			cp += cpBaseline(b, t, v1)
			b.StopTimer()
			exec.Command("sync").Run()
			b.StartTimer()
			ours += benchSync(b, t, v2)
		} else {
			ours += benchSync(b, t, v2)
			b.StopTimer()
			exec.Command("sync").Run()
			b.StartTimer()
			cp += cpBaseline(b, t, v1)
		}
		b.StopTimer()
		os.RemoveAll(v1)
		os.RemoveAll(v2)
		b.StartTimer()
	}
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/populate")
	b.ReportMetric(float64(cp.Milliseconds())/float64(b.N), "ms/cp")
	b.ReportMetric(ours.Seconds()/cp.Seconds(), "populate/cp")
}

// BenchmarkUpToDate: a start on a volume already at the image's build, for the big tree and
// a 100-file tree; the ratio big/small shows it does not depend on the template's size.
func BenchmarkUpToDate(b *testing.B) {
	big := bigTree(b)
	small := makeBenchImage(b, "v1-100", 100, 0, "", 0)
	vb, vs := benchVol(b, "bench-vol-utd-big"), benchVol(b, "bench-vol-utd-small")
	benchSync(b, big, vb)
	benchSync(b, small, vs)
	cpRerun := cpBaseline(b, big, vb) // the talk's step re-run on a populated volume
	var tb, ts time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 100; j++ {
			tb += benchSync(b, big, vb)
			ts += benchSync(b, small, vs)
		}
	}
	n := float64(b.N * 100)
	b.ReportMetric(float64(tb.Microseconds())/n/1000, "ms/start-big")
	b.ReportMetric(float64(ts.Microseconds())/n/1000, "ms/start-small")
	b.ReportMetric(tb.Seconds()/ts.Seconds(), "big/small")
	b.ReportMetric(float64(cpRerun.Milliseconds()), "ms/cp-rerun")
	b.ReportMetric(tb.Seconds()/n/cpRerun.Seconds(), "start/cp-rerun")
}

// BenchmarkUpgrade: upgrade a volume written by v1 to v2 where 1% of the files changed;
// reported with its ratio to the first population measured in the same run.
func BenchmarkUpgrade(b *testing.B) {
	v1 := bigTree(b)
	v2 := makeBenchImage(b, "v2-27k-1pct", 0, 0, "v1-27k", 0.01)
	var up, pop time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		vol := benchVol(b, "bench-vol-upgrade")
		b.StartTimer()
		pop += benchSync(b, v1, vol)
		up += benchSync(b, v2, vol)
		b.StopTimer()
		os.RemoveAll(vol)
		b.StartTimer()
	}
	b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "ms/upgrade")
	b.ReportMetric(float64(pop.Milliseconds())/float64(b.N), "ms/populate")
	b.ReportMetric(up.Seconds()/pop.Seconds(), "upgrade/populate")
}
