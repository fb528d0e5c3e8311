package benchtable

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkPopulate-2   	       3	3800000000 ns/op	      3800 ms/populate	      6100 ms/cp	         0.6230 populate/cp
BenchmarkForwardVsJournalctl-2 	1	 9 ns/op	 20.09 agent_peak_rss_MB	 1.32 throughput_ratio	 50000 fwd_lines/s	 37800 journalctl_lines/s	 27.9 fwd_p99_ms	 425 journalctl_p99_ms	 0.0656 p99_ratio
BenchmarkPopulateFresh/ext4-2         	       3	  9000000000 ns/op	      4100 ms/ours	      9000 ms/cp	      2000 ms/limit	         0.4556 populate/cp	         2.050 populate/limit
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
		"BenchmarkPopulate first population vs cp -npr (one ext4, after rm -rf) 3800 6100 0.623 -",
		"BenchmarkPopulateFresh/ext4 first population vs cp -npr (fresh ext4 per side, medians) 4100 9000 0.456 ≤ 0.5 met",
		"BenchmarkPopulateFresh/ext4 first population vs the physical limit (fresh ext4) 4100 2000 2.05 -",
		"BenchmarkPopulateFresh/tmpfs first population vs cp -npr (fresh tmpfs per side, medians) (not run) ≤ 0.5",
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

func TestWriteScale(t *testing.T) {
	base := map[string]map[string]float64{
		"BenchmarkPopulateFresh/ext4": {"populate/cp": 0.40},
		"BenchmarkUpToDate":           {"start/cp-rerun": 0.01},
		"BenchmarkDiff":               {"x_find": 1.0},
	}
	large := map[string]map[string]float64{
		"BenchmarkPopulateFresh/ext4": {"populate/cp": 0.42},
		"BenchmarkUpToDate":           {"start/cp-rerun": 0.02},
		"BenchmarkDiff":               {"x_find": 0.85},
		"BenchmarkPopulate":           {"populate/cp": 0.5}, // not in the base run: left out
	}
	var b bytes.Buffer
	WriteScale(&b, base, large, 1, 10)
	out := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"RATIO 1× RATIO 10× GROWTH",
		"(fresh ext4 per side, medians) 0.4 0.42 1.05 ≤ 1.10 met",
		"re-running cp 0.01 0.02 2.00 ≤ 1.10 MISSED",
		"(ms; ratio find/diff) 1.00 0.85 0.85 ≥ 0.909 MISSED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scale table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(out, "one ext4, after rm -rf") {
		t.Errorf("a benchmark of one run only is in the table:\n%s", b.String())
	}
	b.Reset()
	WriteScale(&b, base, map[string]map[string]float64{}, 1, 10)
	if !strings.Contains(b.String(), "no benchmark ran at both scales") {
		t.Errorf("empty comparison says nothing:\n%s", b.String())
	}
}
