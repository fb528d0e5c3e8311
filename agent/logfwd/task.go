package logfwd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/environ"
)

// Settings are the forwarder's resolved options.
type Settings struct {
	Format Format
	Filter Filter
	// FormatName is "short" or "json" (for logs).
	FormatName string
}

// Environment variables that override the image's logs: section at run time. The agent reads
// them from the container's environment (/proc/1/environ), since units do not inherit it.
const (
	EnvFormat      = "APPAGENT_LOG_FORMAT"
	EnvPriority    = "APPAGENT_LOG_PRIORITY"
	EnvUnits       = "APPAGENT_LOG_UNITS"       // comma or space separated
	EnvIdentifiers = "APPAGENT_LOG_IDENTIFIERS" // comma or space separated
)

// Resolve combines the image's config with the environment overrides (env may be nil).
// Every problem is reported at once.
func Resolve(cfg config.Logs, env map[string]string) (Settings, error) {
	var s Settings
	var errs []error
	name := cfg.Format
	if v, ok := env[EnvFormat]; ok && v != "" {
		name = v
	}
	f, err := ParseFormat(name)
	if err != nil {
		errs = append(errs, err)
	}
	s.Format = f
	s.FormatName = strings.ToLower(strings.TrimSpace(name))
	if s.FormatName == "" {
		s.FormatName = "short"
	}
	prio := cfg.Priority
	if v, ok := env[EnvPriority]; ok && v != "" {
		prio = v
	}
	p, err := ParsePriority(prio)
	if err != nil {
		errs = append(errs, err)
	}
	s.Filter.MaxPriority = p
	s.Filter.Units = normalizeUnits(cfg.Units)
	if v, ok := env[EnvUnits]; ok {
		s.Filter.Units = normalizeUnits(splitList(v))
	}
	s.Filter.Identifiers = cfg.Identifiers
	if v, ok := env[EnvIdentifiers]; ok {
		s.Filter.Identifiers = splitList(v)
	}
	return s, errors.Join(errs...)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// Task is the agent's log forwarding (service.Task).
type Task struct {
	// Config is the declaration, loaded once by the agent; nil: load ConfigPath (default
	// config.DefaultPath).
	Config     *config.Config
	ConfigPath string
	// Explain, when set, is asked about systemd's messages of a unit's failed process
	// (Explains); a non-empty answer is forwarded right after that message as appagent's own
	// error line. The agent sets it to units.ExplainExit.
	Explain func(unit string, status int) string
	// EnvPath is where the container's environment is read (default /proc/1/environ).
	EnvPath string
	// CursorFile (default DefaultCursorFile).
	CursorFile string
	// Output overrides the container's stdout (tests); nil = OpenOutput().
	Output io.Writer
	// Source overrides where entries come from (tests); nil = OpenSource.
	Source func(SourceOptions) (Source, string, error)
	// DrainIdle and DrainMax bound the drain at stop: the forwarder stops when the journal
	// was quiet for DrainIdle, or after DrainMax (defaults 300ms and 10s).
	DrainIdle, DrainMax time.Duration
	// QueueBytes bounds formatted output waiting for stdout (default 256 KiB: the writer takes
	// all that waits at once, so a larger queue only held more memory; 1 MiB peaked the
	// agent 0.4 MB higher with no more throughput, BenchmarkForwardVsJournalctl 2026-12-02).
	QueueBytes int
	// Since overrides where a first start begins (default: when PID 1 started).
	Since time.Time
	// JournalDirs are waited for at start (default /run/log/journal and /var/log/journal;
	// empty: do not wait).
	JournalDirs []string
}

// waitForJournal waits until one of dirs holds a journal file. The agent may start before
// journald created its directory (appagent.service is ordered after journald's socket, not
// after the service), and sd-journal does not notice a journal directory that appears after
// it was opened: it would follow nothing.
func waitForJournal(ctx context.Context, dirs []string, max time.Duration) bool {
	deadline := time.Now().Add(max)
	for {
		for _, d := range dirs {
			// DIR/MACHINE-ID/*.journal, or DIR/*.journal when the container has no machine
			// ID (an empty /etc/machine-id on a read-only root that systemd may not
			// bind-mount over: docker --read-only).
			for _, pattern := range []string{filepath.Join(d, "*", "*.journal"), filepath.Join(d, "*.journal")} {
				if m, _ := filepath.Glob(pattern); len(m) > 0 {
					return true
				}
			}
		}
		if len(dirs) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return len(dirs) == 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Name implements service.Task.
func (t *Task) Name() string { return "logfwd" }

// Start implements service.Task: it finds stdout, opens the journal after the stored cursor
// and forwards until ctx is done, then drains what the journal has and stores the cursor.
func (t *Task) Start(ctx context.Context, log hclog.Logger) (<-chan error, error) {
	if t.ConfigPath == "" {
		t.ConfigPath = config.DefaultPath
	}
	if t.EnvPath == "" {
		t.EnvPath = environ.PID1
	}
	if t.CursorFile == "" {
		t.CursorFile = DefaultCursorFile
	}
	if t.DrainIdle == 0 {
		t.DrainIdle = 300 * time.Millisecond
	}
	if t.DrainMax == 0 {
		t.DrainMax = 10 * time.Second
	}
	if t.QueueBytes == 0 {
		t.QueueBytes = 256 << 10
	}
	if t.Source == nil {
		t.Source = OpenSource
	}
	done := make(chan error, 1)

	var logsCfg config.Logs
	if cfg, err := config.Loaded(t.Config, t.ConfigPath); err != nil {
		log.Warn("config not readable, forwarding with defaults", "path", t.ConfigPath, "error", err)
	} else {
		logsCfg = cfg.Logs
	}
	env, err := environ.ReadMap(t.EnvPath)
	if err != nil {
		log.Warn("container environment not readable; overrides not applied", "path", t.EnvPath, "error", err)
	}
	for _, k := range []string{EnvFormat, EnvPriority, EnvUnits, EnvIdentifiers} {
		// The agent's own environment wins (tests, systemctl set-environment).
		if v, ok := os.LookupEnv(k); ok {
			if env == nil {
				env = map[string]string{}
			}
			env[k] = v
		}
	}
	settings, err := Resolve(logsCfg, env)
	if err != nil {
		// A wrong override must not silence the container: fall back to the image's config.
		log.Error("log settings invalid, using the image's", "error", err)
		if settings, err = Resolve(logsCfg, nil); err != nil {
			settings, _ = Resolve(config.Logs{}, nil)
		}
	}

	out := t.Output
	if out == nil {
		f, from, err := OpenOutput()
		if err != nil {
			log.Warn("not forwarding the journal", "error", err)
			go func() { <-ctx.Done(); done <- nil }()
			return done, nil
		}
		out = f
		log.Info("forwarding the journal", "to", from, "format", settings.FormatName,
			"priority", priorityNames[settings.Filter.MaxPriority], "units", strings.Join(settings.Filter.Units, ","),
			"identifiers", strings.Join(settings.Filter.Identifiers, ","))
	}

	so := SourceOptions{OnGap: func(c string) {
		log.Warn("the journal no longer has the last entry written; entries rotated away while the forwarder was behind are lost (raise RuntimeMaxUse in journald.conf)", "cursor", c)
	}}
	cursor, err := LoadCursor(t.CursorFile)
	if err != nil {
		log.Warn("stored cursor ignored", "path", t.CursorFile, "error", err)
	}
	if cursor != "" {
		so.AfterCursor = cursor
	} else {
		so.Since = t.Since
		if so.Since.IsZero() {
			so.Since = bootStart()
		}
	}
	if t.JournalDirs == nil {
		t.JournalDirs = []string{"/run/log/journal", "/var/log/journal"}
	}
	if !waitForJournal(ctx, t.JournalDirs, 10*time.Second) {
		log.Warn("no journal files yet; following the journal anyway", "dirs", strings.Join(t.JournalDirs, ","))
	}
	src, name, err := t.Source(so)
	if err != nil {
		return nil, fmt.Errorf("logfwd: open the journal: %w", err)
	}
	if so.AfterCursor != "" {
		log.Info("reading the journal after the stored cursor", "source", name, "path", t.CursorFile)
	} else {
		log.Info("reading the journal from the start of this boot", "source", name, "since", so.Since.UTC().Format(time.RFC3339))
	}

	f := &forwarder{src: src, out: out, settings: settings, q: newQueue(t.QueueBytes),
		cursorFile: t.CursorFile, log: log, drainIdle: t.DrainIdle, drainMax: t.DrainMax, explain: t.Explain}
	go func() { done <- f.run(ctx) }()
	return done, nil
}

// bootStart is when this container's PID 1 started, a little early so that clock ticks and
// rounding never skip the first entries; when unknown, the beginning of the journal.
func bootStart() time.Time {
	stat, err := os.ReadFile("/proc/1/stat")
	if err != nil {
		return time.Unix(1, 0)
	}
	// Field 22 (starttime, clock ticks since boot) comes after the ")" of the command.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Unix(1, 0)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Unix(1, 0)
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return time.Unix(1, 0)
	}
	ps, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Unix(1, 0)
	}
	for _, line := range strings.Split(string(ps), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				break
			}
			// USER_HZ is 100 on every Linux architecture Go supports.
			return time.Unix(btime, 0).Add(time.Duration(ticks) * 10 * time.Millisecond).Add(-2 * time.Second)
		}
	}
	return time.Unix(1, 0)
}

// forwarder is one run of the pipeline: reader (source -> filter -> format -> queue) and
// writer (queue -> stdout -> cursor file).
type forwarder struct {
	src                 Source
	out                 io.Writer
	settings            Settings
	q                   *queue
	cursorFile          string
	log                 hclog.Logger
	drainIdle, drainMax time.Duration
	explain             func(unit string, status int) string
	explained           map[string]bool // units already explained in this run
}

func (f *forwarder) run(ctx context.Context) error {
	defer f.src.Close()
	readErr := make(chan error, 1)
	go func() {
		readErr <- f.read(ctx)
		f.q.close()
	}()
	writeErr := make(chan error, 1)
	go func() {
		writeErr <- f.write(ctx)
		f.q.close() // a reader waiting on a full queue returns
	}()
	// At stop, a write to a blocked stdout (a blocking pipe nobody reads) cannot be
	// interrupted; the agent must not hold the container's shutdown until systemd kills it.
	// After the drain time it gives up on the writer: the process ends, and the cursor stays
	// at the last line written.
	giveUp := make(chan struct{})
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
		case <-finished:
			return
		}
		t := time.NewTimer(f.drainMax + time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			close(giveUp)
		case <-finished:
		}
	}()
	var werr error
	select {
	case werr = <-writeErr:
	case <-giveUp:
		f.q.close()
		return fmt.Errorf("logfwd: the container's stdout is blocked; stopped with lines not written (the journal keeps them)")
	}
	rerr := <-readErr
	if werr != nil {
		return werr
	}
	return rerr
}

// read moves entries into the queue until ctx is done, then drains: it goes on until the
// journal was quiet for drainIdle (or drainMax passed), so that the last words of the units
// stopped before the agent reach stdout.
func (f *forwarder) read(ctx context.Context) error {
	var buf []byte
	var deadline time.Time
	for {
		var e Entry
		var err error
		got := false
		if ctx.Err() == nil {
			e, err = f.src.Next(ctx)
			got = err == nil
		}
		// The stop may come while Next hands out an entry: that entry is written like any
		// other (reading again here would drop it, and the cursor would move past it).
		if !got && ctx.Err() != nil {
			if deadline.IsZero() {
				deadline = time.Now().Add(f.drainMax)
			}
			if time.Now().After(deadline) {
				f.log.Warn("stopped before the end of the journal (drain time exceeded)")
				return nil
			}
			dctx, cancel := context.WithTimeout(context.Background(), f.drainIdle)
			e, err = f.src.Next(dctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				continue
			}
			return fmt.Errorf("logfwd: read the journal: %w", err)
		}
		it := item{cursor: e.Cursor}
		if f.settings.Filter.Match(&e) {
			buf = f.settings.Format.Append(buf[:0], &e)
			it.data = append([]byte(nil), buf...)
		}
		if x, ok := f.explanation(&e); ok && f.settings.Filter.Match(&x) {
			// In the same item: written with the message, under its cursor.
			it.data = f.settings.Format.Append(it.data, &x)
		}
		if !f.q.push(it) {
			return nil // the writer gave up (stdout blocked at stop)
		}
	}
}

// explanation is appagent's line about systemd's message e, when Explain has one: the
// failure report cannot say it when the unit's own failure keeps its ExecStopPost= from
// running (226/NAMESPACE with DynamicUser=), and non-essential units have no report.
func (f *forwarder) explanation(e *Entry) (Entry, bool) {
	if f.explain == nil || e.PID != 1 || e.Unit == "" || f.explained[e.Unit] {
		return Entry{}, false
	}
	status, ok := ExitStatus(e.Message)
	if !ok {
		return Entry{}, false
	}
	why := f.explain(e.Unit, status)
	if why == "" {
		return Entry{}, false
	}
	if f.explained == nil {
		f.explained = map[string]bool{}
	}
	f.explained[e.Unit] = true
	return Entry{Time: e.Time, Unit: e.Unit, Identifier: "appagent", Priority: 3,
		Message: []byte(e.Unit + ": status " + strconv.Itoa(status) + ": " + why)}, true
}

// ExitStatus finds the exit status in systemd's "Main process exited, code=exited,
// status=226/NAMESPACE" (and "Control process exited, …"), the wording since systemd 236.
func ExitStatus(msg []byte) (int, bool) {
	const code = "process exited, code=exited, status="
	i := bytes.Index(msg, []byte(code))
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(code):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	v, err := strconv.Atoi(string(rest[:n]))
	return v, err == nil
}

// atomicWrite is the most a write(2) may carry without splitting a line: PIPE_BUF, the size
// up to which a pipe write is never interleaved with another writer's.
const atomicWrite = 4096

// lineChunk appends to dst the data of the first items that fit in atomicWrite bytes (at
// least one item) and says how many it took. The container's stdout is shared: systemd
// writes its status lines to the same console when it runs without a keeper, and other
// processes may hold the same pipe; a write of whole lines no longer than PIPE_BUF lands
// between their lines, never inside one (a 500-line burst lost a line to "boot-line
// 239[  OK  ] Finished lines.service" on nspawn's console).
func lineChunk(dst []byte, items []item) ([]byte, int) {
	k := 0
	for k < len(items) && (k == 0 || len(dst)+len(items[k].data) <= atomicWrite) {
		dst = append(dst, items[k].data...)
		k++
	}
	return dst, k
}

// write writes everything queued, whole lines at a time (lineChunk), and then stores the
// cursor of the last entry written, so a restart resumes exactly after it.
func (f *forwarder) write(ctx context.Context) error {
	var items []item
	var buf []byte
	var last string
	failing := false
	// At stop, a write to a blocked stdout must not hold the agent (and the container's
	// shutdown) until systemd kills it: pollable outputs (pipes, the keeper's fds) get a
	// deadline.
	if d, ok := f.out.(interface{ SetWriteDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { _ = d.SetWriteDeadline(time.Now().Add(f.drainMax)) })
		defer stop()
	}
	for {
		var ok bool
		items, ok = f.q.popAll(items)
		if !ok {
			break
		}
		for rest := items; len(rest) > 0; {
			var k int
			buf, k = lineChunk(buf[:0], rest)
			rest = rest[k:]
			for len(buf) > 0 {
				n, err := f.out.Write(buf)
				if err == nil {
					if failing {
						f.log.Info("writing to stdout again")
						failing = false
					}
					break
				}
				// Keep the entries: the cursor only moves past written lines. The reader of
				// stdout may come back (a restarted log collector); meanwhile the journal holds.
				if !failing {
					f.log.Error("cannot write to the container's stdout; retrying every second", "error", err)
					failing = true
				}
				buf = buf[n:]
				if ctx.Err() != nil {
					return fmt.Errorf("logfwd: write to the container's stdout: %w", err)
				}
				time.Sleep(time.Second)
			}
		}
		c := items[len(items)-1].cursor
		if c != "" && c != last {
			if err := SaveCursor(f.cursorFile, c); err != nil {
				f.log.Warn("cursor not stored; a restart may repeat lines", "path", f.cursorFile, "error", err)
			}
			last = c
		}
	}
	return nil
}
