package benchtable

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row says how one benchmark's metrics make a line of the table.
type Row struct {
	Benchmark string // the benchmark's name, without -N
	What      string // what is compared, for the reader
	Ours      string // the metric of appagent's side
	Base      string // the metric of the baseline ("" when the goal is absolute)
	Ratio     string // the metric holding the ratio the benchmark reports (its name says which way)
	// Goal is the bound the ratio (or, without a baseline, Ours) must meet; 0: none set.
	Goal float64
	// Lower tells that a value below Goal meets it (times, memory); else above (throughput).
	Lower bool
}

// Rows are the table's lines, in the order printed.
var Rows = []Row{
	{"BenchmarkPopulate", "first population vs cp -npr (one ext4, after rm -rf)", "ms/populate", "ms/cp", "populate/cp", 0, true},
	{"BenchmarkPopulateFresh/ext4", "first population vs cp -npr (fresh ext4 per side, medians)", "ms/ours", "ms/cp", "populate/cp", 0.5, true},
	{"BenchmarkPopulateFresh/ext4", "the population's copy, before its flush, vs cp -npr (fresh ext4)", "ms/ours-copy", "ms/cp", "copy/cp", 0, true},
	{"BenchmarkPopulateFresh/ext4", "first population vs cp -npr + sync -f (fresh ext4)", "ms/ours", "ms/cpsync", "populate/cpsync", 0, true},
	{"BenchmarkPopulateFresh/ext4", "first population vs the physical limit (fresh ext4)", "ms/ours", "ms/limit", "populate/limit", 0, true},
	{"BenchmarkPopulateFresh/ext4", "first population vs the physical limit + sync -f (fresh ext4)", "ms/ours", "ms/limitsync", "populate/limitsync", 0, true},
	{"BenchmarkPopulateFresh/tmpfs", "first population vs cp -npr (fresh tmpfs per side, medians)", "ms/ours", "ms/cp", "populate/cp", 0.5, true},
	{"BenchmarkPopulateFresh/tmpfs", "the population's copy, before its flush, vs cp -npr (fresh tmpfs)", "ms/ours-copy", "ms/cp", "copy/cp", 0, true},
	{"BenchmarkPopulateFresh/tmpfs", "first population vs the physical limit (fresh tmpfs)", "ms/ours", "ms/limit", "populate/limit", 0, true},
	{"BenchmarkUpToDate", "start on an up-to-date volume vs re-running cp", "ms/start-big", "ms/cp-rerun", "start/cp-rerun", 0, true},
	{"BenchmarkUpgrade", "upgrade of 1% of the files vs a population", "ms/upgrade", "ms/populate", "upgrade/populate", 0, true},
	{"BenchmarkForwardVsJournalctl", "log forwarding vs journalctl -f (lines/s)", "fwd_lines/s", "journalctl_lines/s", "throughput_ratio", 1, false},
	{"BenchmarkForwardVsJournalctl", "p99 latency vs journalctl -f (ms)", "fwd_p99_ms", "journalctl_p99_ms", "p99_ratio", 1, true},
	{"BenchmarkForwardVsJournalctl", "the agent's peak RSS while forwarding (MB)", "agent_peak_rss_MB", "", "", 16, true},
	{"BenchmarkForwardVsJournalctl", "the agent's CPU time for the 100,000-line burst (ms)", "agent_cpu_burst_ms", "", "", 0, true},
	{"BenchmarkJournalDir", "forwarding a stored journal vs journalctl (entries/s)", "fwd_entries/s", "journalctl_entries/s", "throughput_ratio", 1, false},
	{"BenchmarkSDJournalReaders", "purego journal reader vs the cgo one (entries/s)", "purego_entries/s", "cgo_entries/s", "readers_ratio", 0.9, false},
	{"BenchmarkDiff", "appagent diff vs find -printf (ms; ratio find/diff)", "ms/diff", "ms/find", "x_find", 0, false},
	{"BenchmarkStatusNspawn", "appagent status vs systemctl is-system-running (ms, inside)", "ms/status-inside", "ms/systemctl-inside", "x_systemctl", 0, true},
	{"BenchmarkStatusNspawn", "status on go-systemd vs the hand-written D-Bus client (ms, inside)", "ms/status-inside", "ms/status-handdbus-inside", "x_handdbus", 0, true},
	{"BenchmarkStatusNspawn", "appagent status inside the container (ms)", "ms/status-inside", "", "", 50, true},
	{"BenchmarkBootCostPodman", "boot with appagent vs systemd alone (ms, podman run to multi-user.target)", "ms/boot-appagent", "ms/boot-systemd", "boot_ratio", 0, true},
	{"BenchmarkBootCostPodman", "appagent's boot overhead (ms, medians)", "overhead_ms", "", "", 100, true},
	{"BenchmarkBootCostPodman", "idle agent's wakeups per minute vs idle journald's", "agent_idle_wakeups/min", "journald_idle_wakeups/min", "wakeups_ratio", 0, true},
	{"BenchmarkBootCostPodman", "idle agent's CPU time (ms per minute)", "agent_idle_cpu_ms/min", "", "", 0, true},
}

// Parse reads benchmark lines ("BenchmarkX-2  3  123 ns/op  4.5 ms/populate ...") into
// metrics by benchmark name (the -N suffix dropped). A benchmark seen twice keeps the last.
func Parse(r io.Reader) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a benchmark's log line, not its result
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = v
		}
		out[name] = m
	}
	return out, sc.Err()
}

// Write prints the table for the benchmarks in results; a benchmark that did not run is a
// line that says so, so a missing measurement is seen.
func Write(w io.Writer, results map[string]map[string]float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tCOMPARES\tAPPAGENT\tBASELINE\tRATIO\tGOAL\t")
	for _, r := range Rows {
		m, ran := results[r.Benchmark]
		if !ran {
			fmt.Fprintf(tw, "%s\t%s\t(not run)\t\t\t%s\t\n", r.Benchmark, r.What, goal(r))
			continue
		}
		ours, base, ratio := metric(m, r.Ours), metric(m, r.Base), metric(m, r.Ratio)
		val, ok := m[r.Ratio]
		if r.Ratio == "" {
			val, ok = m[r.Ours]
		}
		verdict := goal(r)
		if r.Goal != 0 && ok {
			if (r.Lower && val <= r.Goal) || (!r.Lower && val >= r.Goal) {
				verdict += " met"
			} else {
				verdict += " MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Benchmark, r.What, ours, base, ratio, verdict)
	}
	tw.Flush()
}

func metric(m map[string]float64, name string) string {
	if name == "" {
		return "-"
	}
	v, ok := m[name]
	if !ok {
		return "?"
	}
	return num(v)
}

// num prints a measurement with the digits that mean something: 50000, 425, 27.9, 0.0656.
func num(v float64) string {
	switch a := max(v, -v); {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func goal(r Row) string {
	switch {
	case r.Goal == 0:
		return "-"
	case r.Lower:
		return "≤ " + strconv.FormatFloat(r.Goal, 'g', -1, 64)
	default:
		return "≥ " + strconv.FormatFloat(r.Goal, 'g', -1, 64)
	}
}
