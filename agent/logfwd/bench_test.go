package logfwd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/testing/nspawn"
)

// BenchmarkFormatShort and BenchmarkExportParse measure the pure parts per entry.
func BenchmarkFormatShort(b *testing.B) {
	e := Entry{Time: t0, Unit: "mariadb.service", Identifier: "mariadbd", PID: 123, Priority: 6,
		Message: []byte("2026-11-25 15:04:05 0 [Note] InnoDB: Buffer pool(s) load completed at 261125 15:04:05")}
	var buf []byte
	for b.Loop() {
		buf = Short{}.Append(buf[:0], &e)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkExportParse(b *testing.B) {
	var in []byte
	for i := 0; i < 1000; i++ {
		in = AppendExport(in, exportEntry(fmt.Sprintf("s=%d", i), 1764083045123456+int64(i), "bench-line "+strconv.Itoa(i),
			[2]string{"_SYSTEMD_UNIT", "bench.service"}, [2]string{"SYSLOG_IDENTIFIER", "sed"}, [2]string{"_PID", "42"}, [2]string{"PRIORITY", "6"}))
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		x := NewExportReader(bytes.NewReader(in))
		for {
			if _, err := x.Next(); err != nil {
				break
			}
		}
	}
}

// BenchmarkForwardVsJournalctl is the forwarder against `journalctl -f -o short` on the same
// journal in the same run. It boots a real systemd container (nspawn, --console=pipe) with
// appagent init and fills its journal with 100,000 lines of one unit, then:
//
//   - throughput: from the host, the forwarder's pipeline (this package's journal source,
//     filter, short format, bounded queue and writer, as the agent runs it) and
//     `journalctl -f -o short`, both on the container's journal files
//     (/proc/<pid1>/root/run/log/journal), each timed from start to the 100,000th line on its
//     output. Metrics: fwd_lines/s, journalctl_lines/s, throughput_ratio (fwd/journalctl).
//   - latency: both follow the journal from its end while a unit in the container prints 2,000
//     lines paced at ~2,000/s; for each line, the time it reached the output minus the entry's
//     journal timestamp (__REALTIME_TIMESTAMP). Metrics: fwd_p50_ms, fwd_p99_ms,
//     journalctl_p50_ms, journalctl_p99_ms, p99_ratio (fwd/journalctl).
//   - agent_peak_rss_MB: VmHWM of the real agent (appagent run) in the container after it
//     forwarded the 100,000 lines to the container's stdout; agent_peak_anon_MB,
//     agent_peak_file_MB and agent_peak_shmem_MB are the peaks (sampled every 50 ms) of its
//     own memory, of mapped files (its binary) and of the mapped journal files (tmpfs);
//     agent_cpu_burst_ms is the CPU time the agent spent on the burst.
func BenchmarkForwardVsJournalctl(b *testing.B) {
	nspawn.Require(b)
	c := nspawn.Boot(b, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": "volume:\n  path: /data\n"},
		Prepare: true,
		Console: "pipe",
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		b.Fatalf("systemd did not come up: %v", err)
	}
	const n = 100000
	// Sample the agent's resident memory every 50 ms while it forwards the burst.
	c.MustExec("systemd-run", "--quiet", "--unit", "rsssampler", "/bin/sh", "-c",
		`p=$(systemctl show -p MainPID --value appagent.service); while :; do grep -E '^(RssAnon|RssFile|RssShmem):' /proc/$p/status | tr -s ' ' | cut -d' ' -f2 | tr '\n' ' ' >> /run/rss.samples; echo >> /run/rss.samples; sleep 0.05; done`)
	// The agent's CPU time (user + system, clock ticks of /proc/PID/stat) for the burst: what
	// forwarding 100,000 lines costs the container, whatever the collector's setting.
	agentCPU := func() time.Duration {
		f := strings.Fields(c.MustExec("/bin/sh", "-c", `cat /proc/$(systemctl show -p MainPID --value appagent.service)/stat | sed 's/.*) //'`))
		u, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		return time.Duration(u+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	cpuBefore := agentCPU()
	c.MustExec("systemd-run", "--wait", "--quiet", "--unit", "benchgen", "/bin/sh", "-c",
		fmt.Sprintf(`seq 1 %d | sed "s/^/bench-line /"`, n))
	marker := fmt.Sprintf(": bench-line %d\n", n)
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(c.Output(), marker) {
		if time.Now().After(deadline) {
			b.Fatal("the agent did not forward the 100,000 lines to the container's stdout")
		}
		time.Sleep(200 * time.Millisecond)
	}
	cpuBurst := agentCPU() - cpuBefore
	c.MustExec("systemctl", "stop", "rsssampler.service")
	rss := c.MustExec("/bin/sh", "-c", `grep VmHWM /proc/$(systemctl show -p MainPID --value appagent.service)/status | tr -s ' ' | cut -d' ' -f2`)
	rssKB, _ := strconv.Atoi(strings.TrimSpace(rss))
	// Where the resident memory is, by mapping (the binary, libsystemd and its libraries, the
	// journal files, the heap): the largest eight; and the agent's proportional share (Pss:
	// shared pages divided among their users), since most of the RSS is pages of files the
	// agent shares with the page cache and journald.
	agentPid := `$(systemctl show -p MainPID --value appagent.service)`
	b.Logf("the agent's resident memory by mapping after the burst (KB):\n%s", c.MustExec("/bin/sh", "-c",
		`awk '/^[0-9a-f]+-[0-9a-f]+ /{name=($6==""?"[anon]":$6)} /^Rss:/{rss[name]+=$2} END{for(n in rss) printf "%8d %s\n", rss[n], n}' /proc/`+agentPid+`/smaps | sort -rn | head -8`))
	pss, _ := strconv.Atoi(strings.TrimSpace(c.MustExec("/bin/sh", "-c", `awk '/^Pss:/{print $2}' /proc/`+agentPid+`/smaps_rollup`)))
	var anonKB, fileKB, shmemKB int
	for _, l := range strings.Split(c.MustExec("cat", "/run/rss.samples"), "\n") {
		var a, f, sh int
		if n, _ := fmt.Sscan(l, &a, &f, &sh); n == 3 {
			anonKB, fileKB, shmemKB = max(anonKB, a), max(fileKB, f), max(shmemKB, sh)
		}
	}

	dir := fmt.Sprintf("/proc/%d/root/run/log/journal", c.Leader())
	var fwdRate, jctlRate []float64
	for b.Loop() {
		d := timeForwarder(b, dir, time.Unix(1, 0), []byte(marker), nil)
		fwdRate = append(fwdRate, n/d.Seconds())
		d = timeJournalctl(b, dir, []string{"--no-tail"}, marker, nil)
		jctlRate = append(jctlRate, n/d.Seconds())
	}
	fwd, jctl := median(fwdRate), median(jctlRate)
	b.ReportMetric(fwd, "fwd_lines/s")
	b.ReportMetric(jctl, "journalctl_lines/s")
	b.ReportMetric(fwd/jctl, "throughput_ratio")
	b.ReportMetric(float64(rssKB)/1024, "agent_peak_rss_MB")
	b.ReportMetric(float64(pss)/1024, "agent_pss_after_MB")
	b.ReportMetric(float64(cpuBurst.Milliseconds()), "agent_cpu_burst_ms")
	// Peaks (50 ms samples) of the agent's own memory (heap, stacks: RssAnon), of the files
	// it maps (RssFile: mostly its binary) and of the journal files on tmpfs that libsystemd
	// maps (RssShmem: pages shared with journald).
	b.ReportMetric(float64(anonKB)/1024, "agent_peak_anon_MB")
	b.ReportMetric(float64(fileKB)/1024, "agent_peak_file_MB")
	b.ReportMetric(float64(shmemKB)/1024, "agent_peak_shmem_MB")

	fl, jl := latencies(b, c, dir)
	b.ReportMetric(pct(fl, 50), "fwd_p50_ms")
	b.ReportMetric(pct(fl, 99), "fwd_p99_ms")
	b.ReportMetric(pct(jl, 50), "journalctl_p50_ms")
	b.ReportMetric(pct(jl, 99), "journalctl_p99_ms")
	b.ReportMetric(pct(fl, 99)/pct(jl, 99), "p99_ratio")
}

// markerWriter signals when a batch holds the marker; onLine sees every line (may be nil).
type markerWriter struct {
	marker []byte
	seen   chan time.Time
	once   sync.Once
	onLine func(line []byte, at time.Time)
}

func (w *markerWriter) Write(p []byte) (int, error) {
	now := time.Now()
	if w.onLine != nil {
		for _, l := range bytes.Split(p, []byte("\n")) {
			w.onLine(l, now)
		}
	}
	if w.marker != nil && bytes.Contains(p, w.marker) {
		w.once.Do(func() { w.seen <- now })
	}
	return len(p), nil
}

// timeForwarder runs the forwarder on dir from since until the marker was written.
func timeForwarder(b *testing.B, dir string, since time.Time, marker []byte, onLine func([]byte, time.Time)) time.Duration {
	b.Helper()
	w := &markerWriter{marker: marker, seen: make(chan time.Time, 1), onLine: onLine}
	task := &Task{ConfigPath: "/nonexistent", EnvPath: "/nonexistent", CursorFile: filepath.Join(b.TempDir(), "cursor"),
		Output: w, Since: since, JournalDirs: []string{}, Source: func(o SourceOptions) (Source, string, error) {
			o.Directory = dir
			return OpenSource(o)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	done, err := task.Start(ctx, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	var end time.Time
	select {
	case end = <-w.seen:
	case <-time.After(2 * time.Minute):
		b.Fatal("forwarder: marker not seen")
	}
	cancel()
	<-done
	return end.Sub(start)
}

// timeJournalctl runs journalctl -f -o short on dir until the marker line appeared.
func timeJournalctl(b *testing.B, dir string, extra []string, marker string, onLine func([]byte, time.Time)) time.Duration {
	b.Helper()
	args := append([]string{"-D", dir, "-f", "-o", "short", "--no-pager"}, extra...)
	cmd := exec.Command("journalctl", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	r := bufio.NewReaderSize(out, 1<<20)
	m := strings.TrimSuffix(strings.TrimPrefix(marker, ":"), "\n")
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			b.Fatalf("journalctl: %v", err)
		}
		now := time.Now()
		if onLine != nil {
			onLine(line, now)
		}
		if m != "" && bytes.HasSuffix(bytes.TrimRight(line, "\n"), []byte(m)) {
			return now.Sub(start)
		}
	}
}

var latRE = regexp.MustCompile(`lat-line (\d+)`)

// latencies follows the journal's end with both readers while the container prints paced
// lines; it returns the per-line latencies in ms.
func latencies(b *testing.B, c *nspawn.Container, dir string) (fwd, jctl []float64) {
	const lines = 2000
	var mu sync.Mutex
	stamp := map[int]time.Time{}  // journal timestamp per line (from the forwarder's json)
	fwdAt := map[int]time.Time{}  // arrival at the forwarder's output
	jctlAt := map[int]time.Time{} // arrival at journalctl's output
	jsonTime := regexp.MustCompile(`"time":"([^"]+)"`)
	onFwd := func(l []byte, at time.Time) {
		m := latRE.FindSubmatch(l)
		if m == nil {
			return
		}
		i, _ := strconv.Atoi(string(m[1]))
		ts, err := time.Parse(time.RFC3339Nano, string(jsonTime.FindSubmatch(l)[1]))
		if err != nil {
			return
		}
		mu.Lock()
		stamp[i], fwdAt[i] = ts, at
		mu.Unlock()
	}
	onJctl := func(l []byte, at time.Time) {
		if m := latRE.FindSubmatch(l); m != nil {
			i, _ := strconv.Atoi(string(m[1]))
			mu.Lock()
			jctlAt[i] = at
			mu.Unlock()
		}
	}
	b.Setenv(EnvFormat, "json")
	var wg sync.WaitGroup
	wg.Add(2)
	last := fmt.Sprintf("lat-line %d", lines)
	go func() {
		defer wg.Done()
		timeForwarder(b, dir, time.Now(), []byte(last+`"`), onFwd)
	}()
	go func() {
		defer wg.Done()
		timeJournalctl(b, dir, []string{"--lines=0"}, ": "+last+"\n", onJctl)
	}()
	time.Sleep(500 * time.Millisecond) // both at the journal's end
	c.MustExec("systemd-run", "--wait", "--quiet", "--unit", "latgen", "/bin/sh", "-c",
		fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "lat-line $i"; i=$((i+1)); [ $((i %% 20)) -eq 0 ] && sleep 0.01; done; true`, lines))
	wg.Wait()
	for i, ts := range stamp {
		if at, ok := fwdAt[i]; ok {
			fwd = append(fwd, float64(at.Sub(ts))/1e6)
		}
		if at, ok := jctlAt[i]; ok {
			jctl = append(jctl, float64(at.Sub(ts))/1e6)
		}
	}
	if len(fwd) < lines || len(jctl) < lines {
		b.Fatalf("latency: %d forwarder and %d journalctl lines of %d", len(fwd), len(jctl), lines)
	}
	return fwd, jctl
}

func pct(v []float64, p int) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func median(v []float64) float64 { return pct(v, 50) }
