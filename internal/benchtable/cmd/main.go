// Command benchtable prints the summary of a `go test -bench` run read from stdin (make
// bench), or with -scale BASE LARGE the growth of each ratio between two runs of the same
// benchmarks on trees of two scales (make bench-large).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/appagent/appagent/internal/benchtable"
)

func main() {
	scale := flag.Bool("scale", false, "compare two outputs: BASE.out LARGE.out (make bench-large)")
	baseScale := flag.Int("base-scale", 1, "with -scale: the scale of BASE.out")
	largeScale := flag.Int("large-scale", 10, "with -scale: the scale of LARGE.out")
	flag.Parse()
	if !*scale {
		results, err := benchtable.Parse(os.Stdin)
		if err != nil {
			fail(err)
		}
		benchtable.Write(os.Stdout, results)
		return
	}
	if flag.NArg() != 2 {
		fail(fmt.Errorf("-scale wants two files, the base run's and the large run's output"))
	}
	var runs [2]map[string]map[string]float64
	for i, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fail(err)
		}
		runs[i], err = benchtable.Parse(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	benchtable.WriteScale(os.Stdout, runs[0], runs[1], *baseScale, *largeScale)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchtable:", err)
	os.Exit(1)
}
