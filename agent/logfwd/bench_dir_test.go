package logfwd

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkJournalDir reads a stored journal directory (LOGFWD_BENCH_JOURNAL, e.g. a copy of
// a container's /run/log/journal) from start to end: this package's source plus the short
// format, against `journalctl -D DIR -o short` in the same run. Skipped without the variable;
// BenchmarkForwardVsJournalctl is the end-to-end one.
func BenchmarkJournalDir(b *testing.B) {
	dir := os.Getenv("LOGFWD_BENCH_JOURNAL")
	if dir == "" {
		b.Skip("set LOGFWD_BENCH_JOURNAL to a journal directory")
	}
	var fwd, jctl time.Duration
	entries := 0
	for b.Loop() {
		start := time.Now()
		src, _, err := OpenSource(SourceOptions{Directory: dir, Since: time.Unix(1, 0)})
		if err != nil {
			b.Fatal(err)
		}
		var buf []byte
		n := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			e, err := src.Next(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			buf = Short{}.Append(buf[:0], &e)
			n++
		}
		src.Close()
		fwd += time.Since(start) - 300*time.Millisecond
		entries = n

		start = time.Now()
		cmd := exec.Command("journalctl", "-D", dir, "-o", "short", "--no-pager")
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		jctl += time.Since(start)
	}
	b.ReportMetric(float64(entries)/(fwd.Seconds()/float64(b.N)), "fwd_entries/s")
	b.ReportMetric(float64(entries)/(jctl.Seconds()/float64(b.N)), "journalctl_entries/s")
	b.ReportMetric(jctl.Seconds()/fwd.Seconds(), "throughput_ratio")
}
