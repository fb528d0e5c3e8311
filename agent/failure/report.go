package failure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/units"
)

// Report is what the report says about a failed unit.
type Report struct {
	Unit string
	// Result, Code and Status are systemd's $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS in
	// ExecStopPost= (systemd.exec(5), "Environment variables in spawned processes").
	Result, Code, Status string
	// ExitCode is the container's exit code declared for the unit.
	ExitCode int
	// Restarts tells that systemd restarts the unit after this failure (its Restart= policy
	// covers this kind of failure, WillRestart), so the container only exits when the unit
	// keeps failing.
	Restarts bool
	// Why explains a failure that systemd's status alone leaves a riddle (226/NAMESPACE).
	Why string
	// Log holds the unit's last journal lines.
	Log []string
}

// hookNames says which hook a hook unit is, for the report line.
var hookNames = map[string]string{
	units.ConfigureUnit:   "the image's configure hook",
	units.UpgradeUnit:     "the image's upgrade hook",
	units.ReconfigureUnit: "the image's reconfigure hook",
	units.JoinUnit:        "the image's join hook",
}

// hookKeys are the declaration's keys of the hook units (hooks.<key>).
var hookKeys = map[string]string{
	units.ConfigureUnit: "configure", units.UpgradeUnit: "upgrade", units.ReconfigureUnit: "reconfigure", units.JoinUnit: "join",
}

// Line is the one line a person reads in `podman logs` to learn why the container stopped.
func (f Report) Line() string {
	var b strings.Builder
	b.WriteString("appagent: ")
	b.WriteString(f.Unit)
	if h, ok := hookNames[f.Unit]; ok {
		fmt.Fprintf(&b, " (%s)", h)
	}
	b.WriteString(" failed: ")
	b.WriteString(f.why())
	if f.Restarts {
		fmt.Fprintf(&b, "; systemd restarts it, and the container exits with code %d if it keeps failing", f.ExitCode)
	} else {
		fmt.Fprintf(&b, "; the container exits with code %d", f.ExitCode)
	}
	return b.String()
}

func (f Report) why() string {
	var what string
	switch f.Code {
	case "exited":
		what = "exit status " + f.Status
		if n, ok := systemdExit[f.Status]; ok {
			what += " (" + n + ")"
		}
	case "killed":
		what = "killed by signal " + f.Status
	case "dumped":
		what = "dumped core (signal " + f.Status + ")"
	}
	switch f.Result {
	case "exit-code", "signal", "core-dump", "":
		if what == "" {
			return "result " + orDash(f.Result)
		}
		return what
	case "timeout":
		if what != "" {
			return "timed out (" + what + ")"
		}
		return "timed out"
	default:
		// resources, start-limit-hit, watchdog, protocol, oom-kill, exec-condition, ...
		if what != "" {
			return f.Result + " (" + what + ")"
		}
		return f.Result
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Message is the line followed by the last log lines, indented.
func (f Report) Message() string {
	var b strings.Builder
	b.WriteString(f.Line())
	if f.Why != "" {
		b.WriteString("\n  why: ")
		b.WriteString(f.Why)
	}
	if len(f.Log) > 0 {
		what := fmt.Sprintf("last %d log lines", len(f.Log))
		for _, l := range f.Log {
			if l == "…" {
				what = "error lines and last log lines"
				break
			}
		}
		fmt.Fprintf(&b, "\n  %s of %s:", what, f.Unit)
		for _, l := range f.Log {
			b.WriteString("\n    ")
			b.WriteString(l)
		}
	}
	return b.String()
}

// Options configure Run.
type Options struct {
	Unit     string
	ExitCode int
	// Exit: after the report, make the container exit with ExitCode (systemctl exit). For
	// essential units that are not services, whose failure has no FailureAction=.
	Exit   bool
	Env    func(string) string // os.Getenv
	Lines  int                 // last log lines shown (default tailLines), besides earlier error lines
	Stderr io.Writer           // used when the journal cannot be reached
}

// Run is `appagent report-failure`, run as ExecStopPost=+ of hook units and essential
// units. It does nothing when the unit succeeded (ExecStopPost= also runs at a clean stop);
// otherwise it writes the report to the journal at priority err with identifier appagent,
// where the log forwarder (agent/logfwd) puts it on the container's stdout.
//
// Why ExecStopPost= and not OnFailure=: with FailureAction=exit, systemd starts exit.target
// at once and the OnFailure= unit's start job is cancelled by the shutdown (seen on systemd
// 252 in nspawn: "Triggering OnFailure= dependencies", then nothing). ExecStopPost= runs
// before the unit enters the failed state, so before FailureAction=.
func Run(ctx context.Context, o Options) error {
	result := o.Env("SERVICE_RESULT")
	if result == "success" {
		return nil
	}
	q := dialQuery()
	defer q.close()
	if result == "" {
		// Not run from ExecStopPost= (OnFailure= of a timer, socket, mount...): ask systemd.
		result = q.prop(ctx, o.Unit, "Result")
	}
	// podman stop during the configure hook: the hook is killed by the shutdown's SIGTERM,
	// which is not its failure; a report would name an exit code the container does not
	// have (docs/parameters.md: a clean stop reports nothing).
	if o.Env("EXIT_CODE") == "killed" && (o.Env("EXIT_STATUS") == "TERM" || o.Env("EXIT_STATUS") == "15") && q.systemState(ctx) == "stopping" {
		return nil
	}
	if o.Exit {
		defer exitContainer(ctx, o.ExitCode, o.Stderr)
	}
	f := Report{Unit: o.Unit, Result: result, Code: o.Env("EXIT_CODE"), Status: o.Env("EXIT_STATUS"), ExitCode: o.ExitCode}
	if o.Lines == 0 {
		o.Lines = tailLines
	}
	f.Restarts = WillRestart(q.prop(ctx, o.Unit, "Restart"), result)
	if f.Code == "exited" && f.Status == units.NamespaceStatus {
		// Which of the unit's settings need a mount namespace.
		props := map[string]string{}
		for _, p := range units.SandboxProperties {
			if v := q.prop(ctx, o.Unit, p); v != "" {
				props[p] = v
			}
		}
		f.Why = units.NamespaceWhy(units.Sandboxing(props))
	}
	invocation := ""
	if o.Env("SERVICE_RESULT") != "" {
		// In ExecStopPost= $INVOCATION_ID is the failed unit's run; in an OnFailure= unit it
		// is that unit's own, so fall back to the unit's lines of this boot there.
		invocation = o.Env("INVOCATION_ID")
	}
	f.Log = lastLines(ctx, o.Unit, invocation, o.Lines)
	if key, ok := hookKeys[o.Unit]; ok && f.Why == "" {
		f.Why = ConfinedWhy(key, q.execStart(ctx, o.Unit), f.Log)
	}
	msg := f.Message()
	if journal.Enabled() {
		err := journal.Send(msg, journal.PriErr, map[string]string{
			"SYSLOG_IDENTIFIER": "appagent",
			"APPAGENT_UNIT":     o.Unit,
			"APPAGENT_RESULT":   result,
			"APPAGENT_EXIT":     fmt.Sprint(o.ExitCode),
		})
		if err == nil {
			return nil
		}
	}
	if o.Stderr != nil {
		fmt.Fprintln(o.Stderr, msg)
	}
	return nil
}

// queryTimeout bounds each question to systemd or journald: the report runs inside a unit's
// stop (ExecStopPost=), which must not hold up a container's shutdown.
const queryTimeout = 2 * time.Second

// maxScan bounds how many of the run's lines the report reads; tailLines and errLines are how
// many it shows: the last ones, and before them the run's error lines (priority err or
// worse), which a chatty unit would otherwise push out ("rake aborted!" 40 lines before the
// end).
const (
	maxScan   = 2000
	tailLines = 20
	errLines  = 10
)

// logLine is one journal entry of the failed run.
type logLine struct {
	Message  string
	Priority int
}

// pickLines keeps the last tail lines and, before them, the last errs error lines, in order;
// "…" marks lines left out.
func pickLines(all []logLine, tail, errs int) []string {
	start := max(len(all)-tail, 0)
	var early []int
	for i := start - 1; i >= 0 && len(early) < errs; i-- {
		if all[i].Priority <= 3 {
			early = append(early, i)
		}
	}
	var out []string
	prev := -1
	add := func(i int) {
		if i != prev+1 {
			out = append(out, "…")
		}
		out = append(out, all[i].Message)
		prev = i
	}
	for k := len(early) - 1; k >= 0; k-- {
		add(early[k])
	}
	for i := start; i < len(all); i++ {
		add(i)
	}
	return out
}

// lastLines reads the unit's own output of this run (its invocation id) from the journal: the
// last lines and the run's error lines (pickLines).
func lastLines(ctx context.Context, unit, invocation string, n int) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*queryTimeout)
	defer cancel()
	// The unit's last lines may still be in journald's stream buffer; --sync waits for them
	// (bounded: journald may be busy or stopping).
	sctx, scancel := context.WithTimeout(ctx, queryTimeout)
	_ = exec.CommandContext(sctx, "journalctl", "--sync").Run()
	scancel()
	args := []string{"--no-pager", "-o", "json", "--output-fields=MESSAGE,PRIORITY", "-n", fmt.Sprint(maxScan)}
	if invocation != "" {
		args = append(args, "_SYSTEMD_INVOCATION_ID="+invocation)
	} else {
		args = append(args, "-u", unit, "-b")
	}
	out, err := exec.CommandContext(ctx, "journalctl", args...).Output()
	if err != nil {
		return nil
	}
	var all []logLine
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		var e struct {
			Message  json.RawMessage `json:"MESSAGE"`
			Priority string          `json:"PRIORITY"`
		}
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		var msg string
		if json.Unmarshal(e.Message, &msg) != nil {
			msg = "(binary data)" // journalctl writes non-text messages as byte arrays
		}
		p, perr := strconv.Atoi(e.Priority)
		if perr != nil {
			p = 6
		}
		all = append(all, logLine{Message: msg, Priority: p})
	}
	return pickLines(all, n, errLines)
}

// systemdExit names the exit statuses systemd itself uses when it cannot start a unit's
// process (systemd.exec(5), "Process Exit Codes"), with the likely cause in a container.
var systemdExit = map[string]string{
	"200": "CHDIR: the unit's WorkingDirectory= is missing",
	"203": "EXEC: the command could not be run; check its path and that it is executable",
	"209": "STDOUT: the unit's StandardOutput= could not be set up",
	"210": "CHROOT: the unit's RootDirectory= could not be entered",
	"216": "GROUP: the unit's Group= does not exist",
	"217": "USER: the unit's User= does not exist",
	"218": "CAPABILITIES: the container lacks a capability the unit asks for",
	"226": "NAMESPACE: the unit's sandboxing needs privileges the container lacks",
	"233": "RUNTIME_DIRECTORY: the unit's RuntimeDirectory= could not be created",
	"238": "STATE_DIRECTORY: the unit's StateDirectory= could not be created",
	"243": "CREDENTIALS: a credential file is missing; did appagent.service start and write /run/appagent?",
}

// exitContainer asks systemd to exit the container with code (what FailureAction=exit does).
// --no-block: this runs inside a unit's job, and a blocking call would wait for itself.
func exitContainer(ctx context.Context, code int, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemctl", "--no-block", "exit", fmt.Sprint(code)).CombinedOutput()
	if err != nil && stderr != nil {
		fmt.Fprintf(stderr, "appagent: systemctl exit %d: %v %s\n", code, err, out)
	}
}

// EssentialExitCode returns the exit code the declaration gives unit (a listed name, or an
// instance of a listed template such as foo@.socket), or exitcode.Essential.
func EssentialExitCode(cfg *config.Config, unit string) int {
	for _, u := range cfg.Units {
		match := u.Name == unit
		if i := strings.Index(u.Name, "@."); i >= 0 && !match {
			match = strings.HasPrefix(unit, u.Name[:i+1]) && strings.HasSuffix(unit, u.Name[i+1:])
		}
		if match && u.ExitCode != 0 {
			return u.ExitCode
		}
	}
	return int(exitcode.Essential)
}
