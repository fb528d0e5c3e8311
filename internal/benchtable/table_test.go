package benchtable

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkPopulate-2   	       3	3800000000 ns/op	      3800 ms/populate	      6100 ms/cp	         0.6230 populate/cp
BenchmarkForwardVsJournalctl-2 	1	 9 ns/op	 20.09 agent_peak_rss_MB	 1.32 throughput_ratio	 50000 fwd_lines/s	 37800 journalctl_lines/s	 27.9 fwd_p99_ms	 425 journalctl_p99_ms	 0.0656 p99_ratio
    bench_test.go:99: BenchmarkPopulate 3 lines of log
PASS
`

func TestTable(t *testing.T) {
	res, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if res["BenchmarkPopulate"]["populate/cp"] != 0.623 || res["BenchmarkForwardVsJournalctl"]["agent_peak_rss_MB"] != 20.09 {
		t.Fatalf("parsed %v", res)
	}
	var b bytes.Buffer
	Write(&b, res)
	out := strings.Join(strings.Fields(b.String()), " ") // the columns' widths do not matter
	for _, want := range []string{
		"BenchmarkPopulate first population vs cp -npr 3800 6100 0.623 ≤ 0.5 MISSED",
		"vs journalctl -f (lines/s) 50000 37800 1.32 ≥ 1 met",
		"p99 latency vs journalctl -f (ms) 27.90 425.0 0.0656 ≤ 1 met",
		"peak RSS while forwarding (MB) 20.09 - - ≤ 16 MISSED",
		"BenchmarkDiff appagent diff vs find -printf (ms; ratio find/diff) (not run) -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
