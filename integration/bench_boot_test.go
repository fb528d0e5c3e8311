package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/podman"
)

// bootedUnit marks the end of a boot in both images of the boot benchmark: it runs once
// multi-user.target is reached and writes the wall-clock time (which the container shares
// with the host) to the volume, so the host times the boot without polling into it.
const bootedUnit = `[Unit]
Description=boot benchmark marker
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'date +%%s%%N > /data/booted'

[Install]
WantedBy=multi-user.target
`

// The same image with and without appagent: systemd as the entrypoint, or appagent init.
const (
	bootBaseContainerfile = `FROM {{BASE}}
COPY booted.service /etc/systemd/system/booted.service
RUN ["/bin/systemctl", "enable", "booted.service"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/sbin/init"]
`
	bootAgentContainerfile = `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
COPY booted.service /etc/systemd/system/booted.service
RUN ["/bin/systemctl", "enable", "booted.service"]
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/bin/appagent", "init"]
`
)

// bootRuns is how many boots of each image the medians are taken over.
const bootRuns = 7

// idleWindow is how long the idle agent is watched.
const idleWindow = 60 * time.Second

type bootCost struct {
	agentMs, baseMs        float64 // medians, container start to multi-user.target
	idleCPUms, idleWakeups float64 // the agent's processes, per minute idle
	journaldWakeups        float64
	agentRuns, baseRuns    []float64
}

var (
	bootCostOnce   sync.Once
	bootCostResult bootCost
)

// BenchmarkBootCostPodman: the boot with appagent against the same image booting systemd
// directly (issue 15), each from `podman run` to multi-user.target, median of bootRuns,
// alternating; then the idle agent's CPU time and wakeups (voluntary and involuntary
// context switches of all its threads) over a minute, beside journald's. Measured once per
// process; the benchmark's b.N only repeats the report.
func BenchmarkBootCostPodman(b *testing.B) {
	podman.Require(b)
	bootCostOnce.Do(func() { bootCostResult = measureBootCost(b) })
	r := bootCostResult
	b.ReportMetric(r.agentMs, "ms/boot-appagent")
	b.ReportMetric(r.baseMs, "ms/boot-systemd")
	b.ReportMetric(r.agentMs-r.baseMs, "overhead_ms")
	b.ReportMetric(r.agentMs/r.baseMs, "boot_ratio")
	b.ReportMetric(r.idleCPUms, "agent_idle_cpu_ms/min")
	b.ReportMetric(r.idleWakeups, "agent_idle_wakeups/min")
	b.ReportMetric(r.journaldWakeups, "journald_idle_wakeups/min")
	b.ReportMetric(r.idleWakeups/max(r.journaldWakeups, 1), "wakeups_ratio")
	b.Logf("boots (ms) with appagent %v, systemd alone %v", r.agentRuns, r.baseRuns)
}

func measureBootCost(b *testing.B) bootCost {
	ctx := map[string]string{"appagent.yaml": minimalConfig, "booted.service": bootedUnit}
	base := podman.Build(b, podman.BuildOptions{Containerfile: bootBaseContainerfile, Files: ctx})
	agent := podman.Build(b, podman.BuildOptions{Containerfile: bootAgentContainerfile, Files: ctx})
	baseVol, agentVol := b.TempDir(), b.TempDir()

	boot := func(img, vol string, keep bool) (float64, *container) {
		marker := filepath.Join(vol, "booted")
		os.Remove(marker)
		start := time.Now()
		c := podman.Run(b, img, podman.RunOptions{Volume: vol})
		deadline := start.Add(2 * time.Minute)
		for {
			if data, err := os.ReadFile(marker); err == nil && len(strings.TrimSpace(string(data))) > 0 {
				ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
				if err != nil {
					b.Fatalf("marker %q: %v", data, err)
				}
				ms := float64(time.Unix(0, ns).Sub(start).Microseconds()) / 1000
				if !keep {
					c.Stop(60 * time.Second)
					c.Remove()
				}
				return ms, c
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s did not reach multi-user.target:\n%s", img, c.Logs())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	// Not timed: the first boot populates the volume; the measured ones find it up to date.
	boot(agent, agentVol, false)
	boot(base, baseVol, false)
	var r bootCost
	for i := 0; i < bootRuns; i++ {
		a, _ := boot(agent, agentVol, false)
		s, _ := boot(base, baseVol, false)
		r.agentRuns, r.baseRuns = append(r.agentRuns, a), append(r.baseRuns, s)
	}
	r.agentMs, r.baseMs = median(r.agentRuns), median(r.baseRuns)

	_, c := boot(agent, agentVol, true)
	if out, _, code, _ := c.Exec("appagent", "status", "--wait=60s"); code != 0 {
		b.Fatalf("not ready for the idle measurement: %s", out)
	}
	time.Sleep(5 * time.Second) // let the boot's last journal lines be forwarded
	a0, j0 := idleCounters(b, c, "/usr/bin/appagent"), idleCounters(b, c, "/lib/systemd/systemd-journald")
	time.Sleep(idleWindow)
	a1, j1 := idleCounters(b, c, "/usr/bin/appagent"), idleCounters(b, c, "/lib/systemd/systemd-journald")
	perMin := float64(time.Minute) / float64(idleWindow)
	r.idleCPUms = (a1[0] - a0[0]) * 10 * perMin // clock ticks of 10 ms (USER_HZ 100)
	r.idleWakeups = (a1[1] - a0[1]) * perMin
	r.journaldWakeups = (j1[1] - j0[1]) * perMin
	c.Stop(60 * time.Second)
	return r
}

// idleCounters sums, over the processes whose command line starts with prefix, their CPU
// clock ticks (utime+stime) and their threads' context switches.
func idleCounters(b *testing.B, c *container, prefix string) [2]float64 {
	script := `t=0; s=0
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' < $p/cmdline 2>/dev/null) || continue
  case "$cmd" in "` + prefix + `"*) ;; *) continue ;; esac
  set -- $(sed 's/^.*) //' $p/stat); t=$((t + ${12} + ${13}))
  for st in $p/task/*/status; do
    while read k v; do case $k in voluntary_ctxt_switches:|nonvoluntary_ctxt_switches:) s=$((s + v));; esac; done < $st
  done
done
echo $t $s`
	out, errs, code, err := c.Exec("sh", "-c", script)
	f := strings.Fields(out)
	if err != nil || code != 0 || len(f) != 2 {
		b.Fatalf("counters of %s: %q %v %s", prefix, out, err, errs)
	}
	var v [2]float64
	for i := range v {
		n, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			b.Fatal(fmt.Errorf("counters of %s: %w", prefix, err))
		}
		v[i] = n
	}
	return v
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
