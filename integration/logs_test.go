package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// Issue 5: the journal on the container's stdout (agent/logfwd, docs/logs.md).

// logsConfig declares the application unit that prints numbered lines; the generator orders
// it after appagent.service, so at stop its last words are still forwarded.
const logsConfig = `volume:
  path: /data
units:
  - lines.service
`

// linesUnit prints LINES_N (default 500) numbered lines at start and says goodbye at stop.
const linesUnit = `[Unit]
Description=prints numbered lines

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'i=1; while [ $i -le 500 ]; do echo "boot-line $i"; i=$((i+1)); done'
ExecStop=/bin/echo goodbye-from-lines

[Install]
WantedBy=multi-user.target
`

const logsContainerfile = `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
COPY lines.service /etc/systemd/system/lines.service
RUN ["/bin/systemctl", "enable", "lines.service"]
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/bin/appagent", "init"]
`

// logSource is what both runtimes offer these checks.
type logSource interface {
	Exec(args ...string) (stdout, stderr string, code int, err error)
	WaitRunning(d time.Duration) (string, error)
}

// numberedLines returns the numbers of the lines "<prefix> N" in out, in order.
func numberedLines(out, prefix string) []int {
	re := regexp.MustCompile(`(?m): ` + regexp.QuoteMeta(prefix) + ` (\d+)\r?$`)
	var got []int
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		got = append(got, n)
	}
	return got
}

// waitLines waits until logs() has n lines of prefix (or a timeout), then checks that they
// are exactly 1..n in order: no gap, no repeat.
func waitLines(t *testing.T, logs func() string, prefix string, n int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var out string
	var got []int
	for {
		out = logs()
		got = numberedLines(out, prefix)
		if len(got) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// A moment more: repeats would come after the last line.
	time.Sleep(500 * time.Millisecond)
	out = logs()
	got = numberedLines(out, prefix)
	if len(got) != n {
		t.Errorf("%q: got %d lines, want exactly %d", prefix, len(got), n)
	}
	for i, v := range got {
		if v != i+1 {
			t.Errorf("%q: line %d is number %d: a gap or a repeat; the output around it:\n%s", prefix, i+1, v, around(out, prefix, i+1))
			break
		}
	}
	return out
}

// firstMissing is the first number absent from got (which should be 1, 2, …), 0 if none.
func firstMissing(got []int) int {
	seen := map[int]bool{}
	for _, v := range got {
		seen[v] = true
	}
	for i := 1; i <= len(got)+1; i++ {
		if !seen[i] {
			return i
		}
	}
	return 0
}

// around is the output from a few lines before the first line that holds "<prefix> n-1" to
// a few after the one that holds "<prefix> n+1": what surrounds a gap (a line merged into
// another, the forwarder's restart notes, systemd's status lines).
func around(out, prefix string, n int) string {
	lines := strings.Split(out, "\n")
	first, last := -1, -1
	for i, l := range lines {
		for _, k := range []int{n - 1, n, n + 1} {
			if strings.Contains(l, fmt.Sprintf("%s %d", prefix, k)) {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
	}
	if first < 0 {
		return "(no line near it)"
	}
	first, last = max(first-8, 0), min(last+8, len(lines)-1)
	return strings.Join(lines[first:last+1], "\n")
}

// run starts a transient unit in the container that runs a shell script.
func run(t *testing.T, c logSource, unit, script string) {
	t.Helper()
	if out, errs, code, err := c.Exec("systemd-run", "--quiet", "--unit", unit, "/bin/sh", "-c", script); err != nil || code != 0 {
		t.Fatalf("systemd-run %s: exit %d %v\n%s%s", unit, code, err, out, errs)
	}
}

func buildLogsImage(t *testing.T) string {
	return podman.Build(t, podman.BuildOptions{
		Containerfile: logsContainerfile,
		Files:         map[string]string{"appagent.yaml": logsConfig, "lines.service": linesUnit},
	})
}

// TestLogsPodman: without -t, `podman logs` shows the application's lines exactly once, in
// order, through agent restarts and a 100,000-line burst; binary garbage makes one clean line;
// a failing unit's failure is shown; the last words at stop are there.
func TestLogsPodman(t *testing.T) {
	podman.Require(t)
	img := buildLogsImage(t)
	c := podman.Run(t, img, podman.RunOptions{})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v\n%s", err, c.Logs())
	}

	t.Run("unit lines at boot", func(t *testing.T) {
		logs := waitLines(t, c.Logs, "boot-line", 500, 30*time.Second)
		checkEarlyEntries(t, logs)
	})

	t.Run("agent restarts mid-run", func(t *testing.T) {
		const n = 30000
		run(t, c, "restarts", fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "restart-line $i"; i=$((i+1)); done`, n))
		for i := 0; i < 3; i++ {
			time.Sleep(150 * time.Millisecond)
			c.MustExec("systemctl", "restart", "appagent.service")
		}
		logs := waitLines(t, c.Logs, "restart-line", n, 90*time.Second)
		if t.Failed() {
			// Is the missing line in the journal (lost by the forwarder) or not (by journald)?
			// And what did the agents say around it?
			if m := firstMissing(numberedLines(logs, "restart-line")); m > 0 {
				out, _, _, _ := c.Exec("sh", "-c", fmt.Sprintf(`journalctl -o short-precise --no-pager | grep -n -B8 -A8 "restart-line %d$"; echo "---"; journalctl -o short-precise --no-pager -u appagent.service | grep -v forwarding`, m))
				t.Logf("line %d in the journal, and the agents' own lines:\n%s", m, out)
			}
		}
		if strings.Contains(logs, "no longer has the last entry written") {
			t.Errorf("a clean restart was reported as a gap")
		}
	})

	t.Run("burst of 100000 lines", func(t *testing.T) {
		run(t, c, "burst", `seq 1 100000 | sed "s/^/burst-line /"`)
		waitLines(t, c.Logs, "burst-line", 100000, 120*time.Second)
	})

	t.Run("binary garbage is one well-formed line", func(t *testing.T) {
		run(t, c, "garbage", `printf 'garbage-start \033[31mred\033[0m \377\376 \001\002 end\n'`)
		deadline := time.Now().Add(20 * time.Second)
		var lines []string
		for len(lines) == 0 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			for _, l := range strings.Split(c.Logs(), "\n") {
				if strings.Contains(l, ": garbage-start") {
					lines = append(lines, l)
				}
			}
		}
		if len(lines) != 1 {
			t.Fatalf("want one line with the garbage, got %d: %q", len(lines), lines)
		}
		want := `garbage-start \x1b[31mred\x1b[0m \xff\xfe \x01\x02 end`
		if !strings.HasSuffix(lines[0], ": "+want) {
			t.Errorf("garbage line %q, want it to end in %q", lines[0], want)
		}
	})

	t.Run("failing unit shows its failure", func(t *testing.T) {
		run(t, c, "failer", `echo "failer about to fail"; exit 3`)
		// A unit that fails before its program runs (systemd's own failure messages).
		c.Exec("systemd-run", "--quiet", "--unit", "nostart", "--property=WorkingDirectory=/nonexistent", "/bin/true")
		deadline := time.Now().Add(20 * time.Second)
		wants := []string{
			"failer about to fail",
			"failer.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED",
			"failer.service: Failed with result 'exit-code'.",
			"nostart.service: Failed at step CHDIR",
			"nostart.service: Failed with result 'exit-code'.",
		}
		var missing []string
		for {
			logs := c.Logs()
			missing = missing[:0]
			for _, w := range wants {
				if !strings.Contains(logs, w) {
					missing = append(missing, w)
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(missing) > 0 {
			t.Errorf("podman logs lacks %q", missing)
		}
	})

	t.Run("logs through shutdown", func(t *testing.T) {
		if _, err := c.Stop(30 * time.Second); err != nil {
			t.Fatalf("stop: %v", err)
		}
		logs := c.Logs()
		if !strings.Contains(logs, "goodbye-from-lines") {
			t.Errorf("the application's last words at stop are not in podman logs; tail:\n%s", tailLines(logs, 30))
		}
		if !strings.Contains(logs, "Stopped lines.service") {
			t.Errorf("systemd's message about stopping the unit is not in podman logs")
		}
	})
}

// TestLogsPodmanJSON: with APPAGENT_LOG_FORMAT=json, every line the agent writes is one JSON
// object with the documented fields.
func TestLogsPodmanJSON(t *testing.T) {
	podman.Require(t)
	img := buildLogsImage(t)
	c := podman.Run(t, img, podman.RunOptions{Env: []string{"APPAGENT_LOG_FORMAT=json"}})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	run(t, c, "jsonmix", `printf 'multi\nline "quoted" \033 \377 message\n' | systemd-cat -t mixer -p warning; echo json-done`)
	deadline := time.Now().Add(30 * time.Second)
	var logs string
	for time.Now().Before(deadline) {
		logs = c.Logs()
		// systemd-cat's lines and the unit's echo are two journal streams: json-done may be
		// forwarded before them, so wait for both.
		if strings.Contains(logs, "json-done") && strings.Contains(logs, `"message":"multi"`) && strings.Count(logs, `"boot-line `) >= 500 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	type line struct {
		Time       time.Time `json:"time"`
		Unit       string    `json:"unit"`
		Identifier string    `json:"identifier"`
		PID        int       `json:"pid"`
		Priority   *int      `json:"priority"`
		Message    *string   `json:"message"`
	}
	// Every line must parse, from the first: appagent init's own messages before systemd runs
	// are JSON entries too (identifier appagent-init).
	objects, boot, initLines := 0, 0, 0
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", objects+1, err, l)
		}
		if v.Time.IsZero() || v.Priority == nil || v.Message == nil {
			t.Fatalf("line lacks time, priority or message: %q", l)
		}
		objects++
		if strings.HasPrefix(*v.Message, "boot-line ") && v.Unit == "lines.service" {
			boot++
		}
		if v.Identifier == "appagent-init" {
			initLines++
		}
		if v.Identifier == "mixer" && *v.Priority != 4 {
			t.Errorf("priority of a warning: %d, want 4", *v.Priority)
		}
	}
	if boot != 500 || objects < 500 {
		t.Errorf("%d JSON lines, %d of lines.service's 500", objects, boot)
	}
	if !strings.Contains(logs, `"message":"multi"`) {
		t.Errorf("systemd-cat's first line is missing")
	}
	if initLines == 0 {
		t.Errorf("no appagent-init entry: init's own messages (volume population) are missing or not JSON")
	}
}

// TestLogsPodmanTTY: with -t (systemd also prints to the console, which is the same terminal)
// no line is printed twice.
func TestLogsPodmanTTY(t *testing.T) {
	podman.Require(t)
	img := buildLogsImage(t)
	c := podman.Run(t, img, podman.RunOptions{Tty: true})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	logs := waitLines(t, c.Logs, "boot-line", 500, 30*time.Second)
	// systemd colours its status ("[\x1b[0;32m  OK  \x1b[0m] Started ..."), so look for the word.
	if strings.Contains(logs, "  OK  ") || strings.Contains(logs, "Welcome to") {
		t.Errorf("systemd's status output is on the terminal besides the forwarded journal:\n%s", tailLines(logs, 40))
	}
	started := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "Started appagent.service") {
			started++
		}
	}
	if started != 1 {
		t.Errorf("'Started appagent.service' appears %d times, want once", started)
	}
}

// TestLogsNspawnPipe: under systemd-nspawn --console=pipe the same lines appear on nspawn's
// stdout.
func TestLogsNspawnPipe(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":       logsConfig,
			"/etc/systemd/system/lines.service": linesUnit,
		},
		Setup:   enableUnits("lines.service"),
		Prepare: true,
		Console: "pipe",
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	waitLines(t, c.Output, "boot-line", 500, 30*time.Second)
	run(t, c, "nspawnburst", `seq 1 20000 | sed "s/^/nspawn-line /"`)
	c.MustExec("systemctl", "restart", "appagent.service")
	waitLines(t, c.Output, "nspawn-line", 20000, 60*time.Second)
}

// checkEarlyEntries: on its first start the agent forwards what the journal got before the
// agent ran (from the start of the container's boot).
func checkEarlyEntries(t *testing.T, logs string) {
	t.Helper()
	// journald's first words are older than the agent's first line (systemd's "Starting
	// appagent.service" may be logged before journald runs, and so is not in the journal).
	journal := strings.Index(logs, "Journal started")
	agent := strings.Index(logs, "logfwd: forwarding the journal")
	if journal < 0 || agent < 0 || journal > agent {
		t.Errorf("entries from before the agent started are missing: 'Journal started' at %d, the agent's first line at %d", journal, agent)
	}
}

// TestLogsNoKeeperConsole: systemd started directly (no appagent init, so no keeper): the
// agent falls back to /dev/console, which nspawn provides.
func TestLogsNoKeeperConsole(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":       logsConfig,
			"/etc/systemd/system/lines.service": linesUnit,
		},
		Setup:   enableUnits("lines.service"),
		Prepare: true,
		Init:    []string{"/lib/systemd/systemd"},
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	waitLines(t, c.Output, "boot-line", 500, 30*time.Second)
	if j, _, _, _ := c.Exec("journalctl", "-u", "appagent", "--no-pager"); !strings.Contains(j, "to=/dev/console") {
		t.Errorf("the agent does not say it writes to /dev/console:\n%s", j)
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestLogsNspawnJournalctlSource: a binary without the libsystemd reader (what an image
// without libsystemd.so.0 gets; built here with -tags appagent_nosdjournal) reads the journal
// through `journalctl -o export`; the same lines arrive, exactly once, through an agent
// restart.
func TestLogsNspawnJournalctlSource(t *testing.T) {
	nspawn.Require(t)
	mod, err := nspawn.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(t.TempDir(), "appagent")
	build := exec.Command("go", "build", "-tags", "appagent_nosdjournal", "-o", static, "./cmd/appagent")
	build.Dir = mod
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags appagent_nosdjournal: %v\n%s", err, out)
	}
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":       logsConfig,
			"/etc/systemd/system/lines.service": linesUnit,
		},
		Setup: func(t testing.TB, root string) {
			enableUnits("lines.service")(t, root)
			data, err := os.ReadFile(static)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "usr/bin/appagent"), data, 0o755); err != nil {
				t.Fatal(err)
			}
		},
		Prepare: true,
		Console: "pipe",
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	if v := c.MustExec("/usr/bin/appagent", "version"); !strings.Contains(v, "journal: journalctl") {
		t.Fatalf("not the journalctl build: %s", v)
	}
	checkEarlyEntries(t, waitLines(t, c.Output, "boot-line", 500, 30*time.Second))
	run(t, c, "jctlburst", `seq 1 20000 | sed "s/^/jctl-line /"`)
	time.Sleep(100 * time.Millisecond)
	c.MustExec("systemctl", "restart", "appagent.service")
	waitLines(t, c.Output, "jctl-line", 20000, 60*time.Second)
}

// TestLogsGapWarned: when entries the agent had not written yet were rotated away while it
// was down, it says so instead of losing them silently.
func TestLogsGapWarned(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": logsConfig},
		Prepare: true,
		Console: "pipe",
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	c.MustExec("systemctl", "stop", "appagent.service")
	c.MustExec("systemd-run", "--wait", "--quiet", "--unit", "lost", "/bin/sh", "-c", `seq 1 100 | sed "s/^/lost-line /"`)
	// Archive the active file and delete every archived one: the stored cursor's entry and
	// the 100 lines are gone.
	c.MustExec("journalctl", "--rotate")
	c.MustExec("journalctl", "--vacuum-files=1")
	c.MustExec("systemctl", "start", "appagent.service")
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := c.Output()
		if strings.Contains(out, "no longer has the last entry written") {
			break
		}
		if time.Now().After(deadline) {
			j, _, _, _ := c.Exec("journalctl", "-u", "appagent", "--no-pager")
			t.Fatalf("no warning about the lost entries on stdout; agent's journal:\n%s", j)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLogsUnitFilter: APPAGENT_LOG_UNITS in the container's environment keeps only that
// unit's lines and systemd's messages about it.
func TestLogsUnitFilter(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":       logsConfig,
			"/etc/systemd/system/lines.service": linesUnit,
		},
		Setup:   enableUnits("lines.service"),
		Prepare: true,
		Console: "pipe",
		Env:     []string{"APPAGENT_LOG_UNITS=lines"},
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	out := waitLines(t, c.Output, "boot-line", 500, 30*time.Second)
	if !strings.Contains(out, "systemd[1]: Starting lines.service") {
		t.Errorf("systemd's message about the unit is missing")
	}
	for _, other := range []string{"appagent[", "systemd-journald[", "Starting appagent.service"} {
		if strings.Contains(out, other) {
			t.Errorf("filtered output has %q", other)
		}
	}
}

// TestLogsPodmanReadOnly: with --read-only (podman puts tmpfs on /run) forwarding and the
// cursor work the same.
func TestLogsPodmanReadOnly(t *testing.T) {
	podman.Require(t)
	img := buildLogsImage(t)
	c := podman.Run(t, img, podman.RunOptions{ReadOnly: true})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v\n%s", err, c.Logs())
	}
	waitLines(t, c.Logs, "boot-line", 500, 30*time.Second)
	run(t, c, "rolines", `seq 1 20000 | sed "s/^/ro-line /"`)
	time.Sleep(100 * time.Millisecond)
	c.MustExec("systemctl", "restart", "appagent.service")
	waitLines(t, c.Logs, "ro-line", 20000, 60*time.Second)
}

// TestLogsAgentKilled: an agent killed with SIGKILL mid-run (no drain, no final cursor) loses
// nothing; at most the last batch it wrote may repeat.
func TestLogsAgentKilled(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": logsConfig},
		Prepare: true,
		Console: "pipe",
	})
	if _, err := c.WaitRunning(60 * time.Second); err != nil {
		t.Fatalf("systemd did not come up: %v", err)
	}
	const n = 50000
	run(t, c, "killrun", fmt.Sprintf(`seq 1 %d | sed "s/^/kill-line /"`, n))
	time.Sleep(50 * time.Millisecond)
	// (systemctl kill fails in this container: "Failed to send signal SIGKILL to auxiliary
	// processes: Input/output error"; kill the main process directly.)
	c.MustExec("/bin/sh", "-c", "kill -KILL $(systemctl show -p MainPID --value appagent.service)")
	// Restart=on-failure brings it back after RestartSec.
	deadline := time.Now().Add(60 * time.Second)
	var got []int
	for time.Now().Before(deadline) {
		got = numberedLines(c.Output(), "kill-line")
		if len(got) > 0 && got[len(got)-1] == n {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	seen := make([]int, n+1)
	for _, v := range got {
		if v >= 1 && v <= n {
			seen[v]++
		}
	}
	repeats := 0
	for i := 1; i <= n; i++ {
		if seen[i] == 0 {
			t.Fatalf("kill-line %d is missing after the agent was killed", i)
		}
		repeats += seen[i] - 1
	}
	t.Logf("%d lines repeated after SIGKILL (the batch written before the cursor was stored)", repeats)
	if repeats > 4096 {
		t.Errorf("%d lines repeated: more than one batch", repeats)
	}
}
