// Package benchtree is the benchmarks' generated tree shaped like a wiki image's /etc, /var and
// /usr/share/mediawiki, at a scale: its generator, its place in the test cache and the scale
// a run asks for (APPAGENT_BENCH_SCALE). It holds no benchmark and no manifest (agent/upgrade's
// benchmarks make those).
package benchtree

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Cache is where generated trees are kept between runs (outside the repository).
const Cache = "/var/cache/appagent-test"

// Small and Large are the file counts of the 1× tree: 27,000 files of 200 B-24 KiB and 40 of
// 4-6 MiB, about 530 MB.
const (
	Small = 27000
	Large = 40
)

// Scale is the tree's scale a run asks for: APPAGENT_BENCH_SCALE (make bench-large sets 10),
// 1 by default or when it is not a positive number.
func Scale() int {
	if n, err := strconv.Atoi(os.Getenv("APPAGENT_BENCH_SCALE")); err == nil && n > 0 {
		return n
	}
	return 1
}

// Key names the v1 tree of a scale ("v1-27k", "v1-270k").
func Key(scale int) string { return fmt.Sprintf("v1-%dk", Small*scale/1000) }

// Root is the image root a tree of that key is kept in; its template is Template(key).
func Root(key string) string { return filepath.Join(Cache, "bench-tree-"+key) }

// Template is the template directory of the tree kept under Root(key).
func Template(key string) string { return filepath.Join(Root(key), "usr/share/appagent/template") }

// Generate writes a tree of nSmall small files and nLarge large ones under tmpl, the same
// for the same seed: directories two and three levels deep, a symlink every 60 files, a
// hard link every 500.
func Generate(tmpl string, seed uint64, nSmall, nLarge int) error {
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
