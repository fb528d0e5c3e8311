package upgrade

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/internal/atomicfile"
	"github.com/appagent/appagent/internal/benchtree"
)

// The benchmarks compare appagent's volume work with the talk's runtime step
//
//	cd TEMPLATE && cp -npr --parents -t VOLUME *
//
// on a generated tree shaped like a wiki image's /etc, /var and /usr/share/mediawiki:
// 27,000 files (most of them small, a few large), 2,000+ directories, symlinks and hard
// links, 530 MB. The tree is generated once under /var/cache/appagent-test (not the repo).

const benchCache = benchtree.Cache

type benchTree struct {
	root  string // image root: usr/share/appagent/{template,manifest.json,build-id}
	tmpl  string
	cfg   *config.Config
	files int
	bytes int64
}

var benchTrees = map[string]*benchTree{}

// makeBenchImage returns an image root with a prepared template (cached on disk by key).
func makeBenchImage(b *testing.B, key string, nSmall, nLarge int, from string, change float64) *benchTree {
	b.Helper()
	if err := benchtree.Lock(); err != nil {
		b.Fatal(err)
	}
	if t := benchTrees[key]; t != nil {
		return t
	}
	root, tmpl := benchtree.Root(key), benchtree.Template(key)
	yaml := "version: 1\nvolume:\n  paths: [/etc, /var/lib/app, /usr/share/mediawiki]\n"
	cfg, rep := config.Parse("bench.yaml", []byte(yaml))
	if rep.HasErrors() {
		b.Fatal(rep.Err())
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/appagent/build-id")); err != nil {
		os.RemoveAll(root)
		if from == "" {
			if err := benchtree.Generate(tmpl, 42, nSmall, nLarge); err != nil {
				b.Fatal(err)
			}
		} else {
			// A copy of another tree (hard links: cheap) with a fraction of files rewritten.
			if out, err := exec.Command("cp", "-al", benchtree.Root(from), root).CombinedOutput(); err != nil {
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
	d, _ := benchSyncPhases(b, t, vol)
	return d
}

// benchSyncPhases is benchSync that also returns how long a population took to copy, before
// its flush to disk, as its summary line says (0 when the run populated nothing).
func benchSyncPhases(b *testing.B, t *benchTree, vol string) (total, copied time.Duration) {
	b.Helper()
	var out bytes.Buffer
	start := time.Now()
	if _, err := Sync(Options{Config: t.cfg, Root: t.root, Volume: vol, Out: &out}); err != nil {
		b.Fatalf("sync: %v\n%s", err, out.String())
	}
	total = time.Since(start)
	if _, rest, ok := strings.Cut(out.String(), "(copied in "); ok {
		s, _, _ := strings.Cut(rest, ",")
		var err error
		if copied, err = time.ParseDuration(s); err != nil {
			b.Fatalf("the population's summary line: %v\n%s", err, out.String())
		}
	}
	return total, copied
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

// bigTree is the wiki-shaped tree at the run's scale (benchtree.Scale: 530 MB at 1, make
// bench-large's 10 is 5.3 GB).
func bigTree(b *testing.B) *benchTree {
	if testing.Short() {
		b.Skip("the benchmark tree is 530 MB")
	}
	n := benchtree.Scale()
	return makeBenchImage(b, benchtree.Key(n), benchtree.Small*n, benchtree.Large*n, "", 0)
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
	key := benchtree.Key(benchtree.Scale())
	v2 := makeBenchImage(b, "v2"+strings.TrimPrefix(key, "v1")+"-1pct", 0, 0, key, 0.01)
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
