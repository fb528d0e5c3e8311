package logfwd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/internal/syncbuf"
)

// fakeJournal is an in-memory journal; sources opened on it behave like the real ones:
// they start after a cursor or at the beginning, and block at the end.
type fakeJournal struct {
	mu      sync.Mutex
	entries []Entry
	changed chan struct{}
	opened  []SourceOptions
	sources []*fakeSource
}

func newFakeJournal() *fakeJournal { return &fakeJournal{changed: make(chan struct{})} }

func (j *fakeJournal) add(unit, msg string) {
	j.mu.Lock()
	n := len(j.entries)
	j.entries = append(j.entries, Entry{Cursor: fmt.Sprintf("s=%d", n), Time: t0.Add(time.Duration(n) * time.Millisecond),
		Unit: unit, Identifier: strings.TrimSuffix(unit, ".service"), PID: 10, Priority: 6, Message: []byte(msg)})
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

func (j *fakeJournal) open(o SourceOptions) (Source, string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.opened = append(j.opened, o)
	pos := 0
	if o.AfterCursor != "" {
		var n int
		fmt.Sscanf(o.AfterCursor, "s=%d", &n)
		pos = n + 1
	}
	s := &fakeSource{j: j, pos: pos}
	j.sources = append(j.sources, s)
	return s, "fake", nil
}

type fakeSource struct {
	j    *fakeJournal
	pos  int
	last string
	read int
}

func (s *fakeSource) Next(ctx context.Context) (Entry, error) {
	for {
		s.j.mu.Lock()
		if s.pos < len(s.j.entries) {
			e := s.j.entries[s.pos]
			s.j.mu.Unlock()
			s.pos++
			s.j.mu.Lock()
			s.read++
			s.j.mu.Unlock()
			s.last = e.Cursor
			return e, nil
		}
		ch := s.j.changed
		s.j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}
func (s *fakeSource) Cursor() string { return s.last }
func (s *fakeSource) Close() error   { return nil }

func newTestTask(t *testing.T, j *fakeJournal, out io.Writer, cursor string) *Task {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "appagent.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\nvolume:\n  paths: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "environ")
	if err := os.WriteFile(env, []byte("PATH=/bin\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cursor == "" {
		cursor = filepath.Join(dir, "logfwd.cursor")
	}
	return &Task{ConfigPath: cfg, EnvPath: env, CursorFile: cursor, Output: out, Source: j.open,
		DrainIdle: 50 * time.Millisecond, Since: t0, JournalDirs: []string{}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // generous: CI machines can be loaded
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func numbered(out string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, ": line "); i >= 0 {
			got = append(got, l[i+2:])
		}
	}
	return got
}

// TestRestartResumesExactly stops and restarts the forwarder in the middle of a stream: the
// output has every line once, in order.
func TestRestartResumesExactly(t *testing.T) {
	j := newFakeJournal()
	out := &syncbuf.Buffer{}
	cursorFile := filepath.Join(t.TempDir(), "run", "logfwd.cursor")
	const n = 3000
	go func() {
		for i := 1; i <= n; i++ {
			j.add("app.service", fmt.Sprintf("line %d", i))
			if i%500 == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	for round := 0; round < 4; round++ {
		task := newTestTask(t, j, out, cursorFile)
		ctx, cancel := context.WithCancel(context.Background())
		done, err := task.Start(ctx, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Millisecond)
		if round == 3 {
			waitFor(t, "all lines", func() bool { return len(numbered(out.String())) >= n })
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	got := numbered(out.String())
	if len(got) != n {
		t.Fatalf("got %d lines, want %d", len(got), n)
	}
	for i, l := range got {
		if l != fmt.Sprintf("line %d", i+1) {
			t.Fatalf("line %d is %q: gap or repeat", i+1, l)
		}
	}
	if len(j.opened) != 4 || j.opened[0].AfterCursor != "" || j.opened[0].Since != t0 || j.opened[3].AfterCursor == "" {
		t.Errorf("sources opened with %+v: want the first from the boot, the others after the cursor", j.opened)
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	release chan struct{}
	syncbuf.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.Buffer.Write(p)
}

// TestBlockedStdoutBoundsMemory: with stdout blocked, the forwarder stops reading the journal
// after a bounded amount (the journal keeps the rest) and catches up once unblocked.
func TestBlockedStdoutBoundsMemory(t *testing.T) {
	j := newFakeJournal()
	msg := strings.Repeat("x", 1000)
	const n = 5000
	for i := 1; i <= n; i++ {
		j.add("app.service", fmt.Sprintf("line %d %s", i, msg))
	}
	w := &blockingWriter{release: make(chan struct{})}
	task := newTestTask(t, j, w, "")
	task.QueueBytes = 64 << 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, err := task.Start(ctx, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	j.mu.Lock()
	src := j.opened
	j.mu.Unlock()
	if len(src) != 1 {
		t.Fatal("source not opened")
	}
	// What was read is bounded by the queue (64 KiB ~ 64 entries), the batch being written
	// and the source's own read-ahead; far from all 5000 entries (5 MB).
	read := readCount(j)
	if read > 300 {
		t.Fatalf("read %d entries while stdout was blocked; the queue is not bounded", read)
	}
	close(w.release)
	waitFor(t, "catch up", func() bool { return strings.Count(w.String(), "\n") == n })
	cancel()
	<-done
}

func readCount(j *fakeJournal) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, s := range j.sources {
		n += s.read
	}
	return n
}

func TestFilterAndSettings(t *testing.T) {
	cases := []struct {
		name string
		cfg  config.Logs
		env  map[string]string
		e    Entry
		want bool
	}{
		{"default forwards info", config.Logs{}, nil, Entry{Priority: 6}, true},
		{"default drops debug", config.Logs{}, nil, Entry{Priority: 7}, false},
		{"priority from config", config.Logs{Priority: "warning"}, nil, Entry{Priority: 5}, false},
		{"env overrides priority", config.Logs{Priority: "warning"}, map[string]string{EnvPriority: "debug"}, Entry{Priority: 7}, true},
		{"unit listed", config.Logs{Units: []string{"web"}}, nil, Entry{Unit: "web.service", Priority: 6}, true},
		{"unit not listed", config.Logs{Units: []string{"web"}}, nil, Entry{Unit: "db.service", Priority: 6}, false},
		{"systemd about a listed unit", config.Logs{Units: []string{"web.service"}}, nil, Entry{Unit: "web.service", Identifier: "systemd", PID: 1, Priority: 3}, true},
		{"identifier listed", config.Logs{Identifiers: []string{"cron"}}, nil, Entry{Identifier: "cron", Priority: 6}, true},
		{"env units replace config", config.Logs{Units: []string{"web"}}, map[string]string{EnvUnits: "db, cache.service"}, Entry{Unit: "cache.service", Priority: 6}, true},
		{"env empty units clear config", config.Logs{Units: []string{"web"}}, map[string]string{EnvUnits: ""}, Entry{Unit: "db.service", Priority: 6}, true},
	}
	for _, c := range cases {
		s, err := Resolve(c.cfg, c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := s.Filter.Match(&c.e); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
	s, err := Resolve(config.Logs{Format: "short"}, map[string]string{EnvFormat: "JSON"})
	if err != nil || s.FormatName != "json" {
		t.Errorf("env format override: %v %v", s.FormatName, err)
	}
	_, err = Resolve(config.Logs{}, map[string]string{EnvFormat: "xml", EnvPriority: "loud"})
	if err == nil || !strings.Contains(err.Error(), "xml") || !strings.Contains(err.Error(), "loud") {
		t.Errorf("both problems must be reported at once: %v", err)
	}
}

func TestCursorFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a", "logfwd.cursor")
	if c, err := LoadCursor(p); c != "" || err != nil {
		t.Fatalf("missing file: %q %v", c, err)
	}
	if err := SaveCursor(p, "s=abc;i=1"); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadCursor(p); c != "s=abc;i=1" || err != nil {
		t.Fatalf("got %q %v", c, err)
	}
	os.WriteFile(p, []byte("garbage"), 0o644)
	if _, err := LoadCursor(p); err == nil {
		t.Fatal("garbage accepted as a cursor")
	}
}

func TestQueueBound(t *testing.T) {
	q := newQueue(10)
	q.push(item{data: []byte("0123456789abc")}) // larger than the bound, accepted when empty
	pushed := make(chan struct{})
	go func() { q.push(item{data: []byte("x")}); close(pushed) }()
	select {
	case <-pushed:
		t.Fatal("push did not wait while the queue was full")
	case <-time.After(50 * time.Millisecond):
	}
	items, ok := q.popAll(nil)
	if !ok || len(items) != 1 {
		t.Fatalf("popAll: %v %v", items, ok)
	}
	<-pushed
	q.close()
	items, ok = q.popAll(items)
	if !ok || len(items) != 1 {
		t.Fatalf("items queued before close must still come out: %v %v", items, ok)
	}
	if _, ok := q.popAll(items); ok {
		t.Fatal("closed empty queue must say so")
	}
}

func TestWaitForJournal(t *testing.T) {
	dir := t.TempDir()
	if waitForJournal(context.Background(), []string{dir}, 100*time.Millisecond) {
		t.Fatal("an empty directory counts as a journal")
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.MkdirAll(filepath.Join(dir, "machine"), 0o755)
		os.WriteFile(filepath.Join(dir, "machine", "system.journal"), nil, 0o644)
	}()
	if !waitForJournal(context.Background(), []string{"/nonexistent", dir}, 5*time.Second) {
		t.Fatal("a journal file that appears later is not noticed")
	}
	// No machine ID (docker --read-only with an empty /etc/machine-id): journald writes
	// straight into the directory.
	flat := t.TempDir()
	os.WriteFile(filepath.Join(flat, "system.journal"), nil, 0o644)
	if !waitForJournal(context.Background(), []string{flat}, 100*time.Millisecond) {
		t.Fatal("a journal without a machine-id directory is not noticed")
	}
}

// TestStopWithBlockedStdout: at stop, a stdout nobody reads must not hold the agent beyond
// the drain time (systemd would kill it only after TimeoutStopSec, delaying the shutdown).
func TestStopWithBlockedStdout(t *testing.T) {
	j := newFakeJournal()
	for i := 1; i <= 2000; i++ {
		j.add("app.service", fmt.Sprintf("line %d %s", i, strings.Repeat("y", 500)))
	}
	r, w, err := os.Pipe() // pollable, like the keeper's fds; nobody reads r
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	task := newTestTask(t, j, w, "")
	task.DrainMax = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done, err := task.Start(ctx, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the pipe (64 KiB) is full by now
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the forwarder did not stop while stdout was blocked")
	}
}

// TestStopWithBlockingStdout: the same with a stdout whose writes cannot time out (a
// blocking pipe): the forwarder gives up on the writer after the drain time.
func TestStopWithBlockingStdout(t *testing.T) {
	j := newFakeJournal()
	for i := 1; i <= 100; i++ {
		j.add("app.service", fmt.Sprintf("line %d", i))
	}
	// Never released: the writer stays blocked, as on a pipe nobody reads.
	w := &blockingWriter{release: make(chan struct{})}
	task := newTestTask(t, j, w, filepath.Join(os.TempDir(), fmt.Sprintf("logfwd-test-%d.cursor", os.Getpid())))
	task.DrainMax = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done, err := task.Start(ctx, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "blocked") {
			t.Errorf("want an error saying stdout is blocked, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the forwarder did not stop while stdout was blocked")
	}
}

// Writes carry whole lines, at most PIPE_BUF bytes unless one line is longer, and every item
// is written once, in order.
func TestLineChunk(t *testing.T) {
	mk := func(sizes ...int) []item {
		var items []item
		for i, n := range sizes {
			items = append(items, item{data: append(bytes.Repeat([]byte{byte('a' + i)}, n-1), '\n')})
		}
		return items
	}
	cases := []struct {
		sizes []int
		want  []int // items per write
	}{
		{[]int{100, 100, 100}, []int{3}},
		{[]int{4000, 96}, []int{2}},
		{[]int{4000, 97}, []int{1, 1}},
		{[]int{9000, 10}, []int{1, 1}},
		{[]int{10, 9000, 10}, []int{1, 1, 1}},
		{nil, nil},
	}
	for _, tc := range cases {
		items := mk(tc.sizes...)
		var got []int
		var all []byte
		for rest := items; len(rest) > 0; {
			buf, k := lineChunk(nil, rest)
			if len(buf) > atomicWrite && k > 1 {
				t.Errorf("%v: a write of %d items is %d bytes", tc.sizes, k, len(buf))
			}
			got = append(got, k)
			all = append(all, buf...)
			rest = rest[k:]
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: items per write %v, want %v", tc.sizes, got, tc.want)
		}
		var want []byte
		for _, it := range items {
			want = append(want, it.data...)
		}
		if !bytes.Equal(all, want) {
			t.Errorf("%v: the writes do not add up to the items in order", tc.sizes)
		}
	}
}

// cancelingSource returns the journal's entries and cancels the task's context at the moment
// it hands out entry cancelAt: the agent's SIGTERM arriving while an entry is read.
type cancelingSource struct {
	*fakeSource
	cancelAt int
	cancel   context.CancelFunc
	n        int
}

func (s *cancelingSource) Next(ctx context.Context) (Entry, error) {
	e, err := s.fakeSource.Next(ctx)
	if err == nil {
		s.n++
		if s.n == s.cancelAt {
			s.cancel()
		}
	}
	return e, err
}

// A stop that arrives as an entry is read must not lose that entry: the drain writes it and
// the rest (TestLogsPodman on systemd 257 lost one line of 30,000 this way).
func TestStopWhileReadingKeepsTheEntry(t *testing.T) {
	for _, at := range []int{1, 2, 50} {
		j := newFakeJournal()
		for i := 1; i <= 100; i++ {
			j.add("app.service", fmt.Sprintf("line %d", i))
		}
		out := &syncbuf.Buffer{}
		task := newTestTask(t, j, out, "")
		ctx, cancel := context.WithCancel(context.Background())
		task.Source = func(o SourceOptions) (Source, string, error) {
			s, name, err := j.open(o)
			return &cancelingSource{fakeSource: s.(*fakeSource), cancelAt: at, cancel: cancel}, name, err
		}
		done, err := task.Start(ctx, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := numbered(out.String())
		if len(got) != 100 {
			t.Errorf("stop at entry %d: %d lines written, want all 100 (the drain reads on)", at, len(got))
		}
		for i, l := range got {
			if l != fmt.Sprintf("line %d", i+1) {
				t.Errorf("stop at entry %d: line %d is %q: the entry read when the stop came is lost", at, i+1, l)
				break
			}
		}
	}
}

// TestExplainFollowsSystemdMessage: systemd's "status=226/NAMESPACE" about a unit is followed
// by appagent's explanation, once per unit; other statuses and other senders get none.
func TestExplainFollowsSystemdMessage(t *testing.T) {
	j := newFakeJournal()
	add := func(unit string, pid int, msg string) {
		j.mu.Lock()
		n := len(j.entries)
		j.entries = append(j.entries, Entry{Cursor: fmt.Sprintf("s=%d", n), Time: t0.Add(time.Duration(n) * time.Millisecond),
			Unit: unit, Identifier: "systemd", PID: pid, Priority: 5, Message: []byte(msg)})
		close(j.changed)
		j.changed = make(chan struct{})
		j.mu.Unlock()
	}
	add("a.service", 1, "a.service: Main process exited, code=exited, status=226/NAMESPACE")
	add("a.service", 1, "a.service: Control process exited, code=exited, status=226/NAMESPACE")
	add("b.service", 1, "b.service: Main process exited, code=exited, status=1/FAILURE")
	add("c.service", 42, "c.service: Main process exited, code=exited, status=226/NAMESPACE")
	add("d.service", 1, "last")
	out := &syncbuf.Buffer{}
	task := newTestTask(t, j, out, "")
	var asked []string
	task.Explain = func(unit string, status int) string {
		asked = append(asked, fmt.Sprintf("%s %d", unit, status))
		if status == 226 {
			return "the why"
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, err := task.Start(ctx, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last line", func() bool { return strings.Contains(out.String(), "last") })
	cancel()
	<-done
	got := out.String()
	if n := strings.Count(got, "a.service: status 226: the why"); n != 1 {
		t.Errorf("explanation written %d times, want once:\n%s", n, got)
	}
	lines := strings.Split(got, "\n")
	for i, l := range lines {
		if strings.Contains(l, "systemd[1]: a.service: Main process exited") && (i+1 >= len(lines) || !strings.Contains(lines[i+1], "appagent") || !strings.Contains(lines[i+1], "the why")) {
			t.Errorf("the explanation does not follow systemd's line:\n%s", got)
		}
	}
	if strings.Contains(got, "b.service: status") || strings.Contains(got, "c.service: status") {
		t.Errorf("explained what it should not:\n%s", got)
	}
	if fmt.Sprint(asked) != "[a.service 226 b.service 1]" {
		t.Errorf("asked %v", asked)
	}
}
