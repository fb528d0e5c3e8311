//go:build cgo && appagent_cgojournal

package logfwd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/nspawn"
)

// BenchmarkSDJournalReaders compares the shipped journal reader (purego, no cgo) with the cgo
// reader it replaced, on the same 100,000-entry journal of a booted container, in the same
// run: readers_ratio is purego's throughput over cgo's (1 = as fast). Run by `make bench`
// with -tags appagent_cgojournal.
func BenchmarkSDJournalReaders(b *testing.B) {
	nspawn.Require(b)
	c := nspawn.Boot(b, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": "volume:\n  path: /data\n"},
		Prepare: true,
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		b.Fatalf("systemd did not come up: %v", err)
	}
	const n = 100000
	c.MustExec("systemd-run", "--wait", "--quiet", "--unit", "benchgen", "/bin/sh", "-c",
		fmt.Sprintf(`seq 1 %d | sed "s/^/bench-line /"`, n))
	dir := fmt.Sprintf("/proc/%d/root/run/log/journal", c.Leader())
	read := func(open func(SourceOptions) (Source, error)) (time.Duration, int) {
		start := time.Now()
		src, err := open(SourceOptions{Directory: dir, Since: time.Unix(1, 0)})
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		got := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			_, err := src.Next(ctx)
			cancel()
			if err != nil {
				break
			}
			got++
		}
		return time.Since(start) - 300*time.Millisecond, got
	}
	var pg, cg time.Duration
	var npg, ncg int
	for b.Loop() {
		// Alternate the order: the second reader finds the journal's pages cached.
		d1, k1 := read(OpenSDJournal)
		d2, k2 := read(OpenSDJournalCgo)
		d4, k4 := read(OpenSDJournalCgo)
		d3, k3 := read(OpenSDJournal)
		pg, cg = pg+d1+d3, cg+d2+d4
		npg, ncg = npg+k1+k3, ncg+k2+k4
	}
	if npg != ncg || npg < 2*n*b.N {
		b.Fatalf("the readers read %d and %d entries, want the same, at least %d", npg, ncg, 2*n*b.N)
	}
	b.ReportMetric(float64(npg)/pg.Seconds(), "purego_entries/s")
	b.ReportMetric(float64(ncg)/cg.Seconds(), "cgo_entries/s")
	b.ReportMetric((float64(npg)/pg.Seconds())/(float64(ncg)/cg.Seconds()), "readers_ratio")
}
