//go:build cgo

package logfwd

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"

	"github.com/appagent/appagent/agent/version"
)

func init() {
	sdjournalOpen = OpenSDJournal
	version.JournalSource = "sdjournal"
}

// sdSource reads the journal with libsystemd's sd-journal (dlopened by go-systemd). An
// sd_journal handle must only ever be used by one thread, so one goroutine locked to its OS
// thread owns it from open to close and hands entries over a small channel.
type sdSource struct {
	ch   chan sdBatch
	buf  []Entry
	stop chan struct{}
	done chan struct{}
	once sync.Once
	last string
	err  error
}

// OpenSDJournal opens the local journal (or o.Directory) and starts reading at the place o
// says. It fails when libsystemd cannot be loaded.
func OpenSDJournal(o SourceOptions) (Source, error) {
	s := &sdSource{ch: make(chan sdBatch, 4), stop: make(chan struct{}), done: make(chan struct{})}
	opened := make(chan error, 1)
	go s.run(o, opened)
	if err := <-opened; err != nil {
		return nil, err
	}
	return s, nil
}

// sdBatch carries up to sdBatchMax entries (one channel operation per batch, not per entry)
// or the error that ended reading.
type sdBatch struct {
	entries []Entry
	err     error
}

// sdBatchMax bounds a batch; with 4 batches in the channel, at most 4*64 entries (of at most
// MaxMessage each) wait between the journal and the queue.
const sdBatchMax = 64

// sdPoll is how long the reader waits for journald's change notification before it looks at
// the journal anyway. journald announces appends (inotify) at most every 250 ms while busy,
// but the entries are in the shared mapping at once: looking every 25 ms keeps the latency
// low for a few cheap wake-ups a second.
const sdPoll = 25 * time.Millisecond

func (s *sdSource) run(o SourceOptions, opened chan<- error) {
	runtime.LockOSThread()
	// The thread is never unlocked: it ends with the goroutine, so no other goroutine ever
	// runs on a thread that held the journal.
	defer close(s.done)
	var (
		j   *sdjournal.Journal
		err error
	)
	if o.Directory != "" {
		j, err = sdjournal.NewJournalFromDir(o.Directory)
	} else {
		j, err = sdjournal.NewJournal()
	}
	if err != nil {
		opened <- fmt.Errorf("open the journal: %w", err)
		return
	}
	defer j.Close()
	// Cut huge fields in libsystemd already; the builder cuts MESSAGE at MaxMessage.
	_ = j.SetDataThreshold(MaxMessage + 1)
	pending, err := sdSeek(j, o)
	if err != nil {
		opened <- err
		return
	}
	opened <- nil

	send := func(r sdBatch) bool {
		select {
		case s.ch <- r:
			return true
		case <-s.stop:
			return false
		}
	}
	var batch []Entry
	if pending {
		e, err := sdRead(j)
		if err != nil {
			send(sdBatch{err: err})
			return
		}
		batch = append(batch, e)
	}
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, err := j.Next()
		if err != nil {
			send(sdBatch{entries: batch, err: fmt.Errorf("sd_journal_next: %w", err)})
			return
		}
		if n > 0 {
			e, err := sdRead(j)
			if err != nil {
				send(sdBatch{entries: batch, err: err})
				return
			}
			batch = append(batch, e)
			if len(batch) < sdBatchMax {
				continue
			}
		}
		if len(batch) > 0 {
			if !send(sdBatch{entries: batch}) {
				return
			}
			batch = make([]Entry, 0, sdBatchMax)
			continue
		}
		// At the end: wait for journald to append, or look again after sdPoll.
		if r := j.Wait(sdPoll); r < 0 {
			send(sdBatch{err: fmt.Errorf("sd_journal_wait: %w", syscall.Errno(-r))})
			return
		}
	}
}

// sdSeek positions j; pending says the current entry has to be read before calling Next.
func sdSeek(j *sdjournal.Journal, o SourceOptions) (pending bool, err error) {
	switch {
	case o.AfterCursor != "":
		if err := j.SeekCursor(o.AfterCursor); err != nil {
			return false, fmt.Errorf("seek to the stored cursor: %w", err)
		}
		n, err := j.Next()
		if err != nil {
			return false, fmt.Errorf("seek to the stored cursor: %w", err)
		}
		if n == 0 {
			// The journal ends before or at the cursor: nothing to skip.
			return false, nil
		}
		if terr := j.TestCursor(o.AfterCursor); terr != nil {
			// Not the entry we wrote last: it is gone, and the current entry comes after
			// it, so it has not been written yet.
			if o.OnGap != nil {
				o.OnGap(o.AfterCursor)
			}
			return true, nil
		}
		return false, nil
	case !o.Since.IsZero():
		if err := j.SeekRealtimeUsec(uint64(o.Since.UnixMicro())); err != nil {
			return false, fmt.Errorf("seek to %s: %w", o.Since.Format(time.RFC3339), err)
		}
		return false, nil
	default:
		if err := j.SeekTail(); err != nil {
			return false, fmt.Errorf("seek to the end of the journal: %w", err)
		}
		// sd_journal_seek_tail leaves the position after the last entry only once
		// Previous() was called; without it, Next() returns the last entry again.
		if _, err := j.Previous(); err != nil {
			return false, fmt.Errorf("seek to the end of the journal: %w", err)
		}
		return false, nil
	}
}

func sdRead(j *sdjournal.Journal) (Entry, error) {
	var b entryBuilder
	cursor, err := j.GetCursor()
	if err != nil {
		return Entry{}, fmt.Errorf("sd_journal_get_cursor: %w", err)
	}
	b.e.Cursor = cursor
	us, err := j.GetRealtimeUsec()
	if err != nil {
		return Entry{}, fmt.Errorf("sd_journal_get_realtime_usec: %w", err)
	}
	b.e.Time = time.UnixMicro(int64(us)).UTC()
	get := func(f string) {
		d, err := j.GetDataBytes(f)
		if err != nil {
			// ENOENT: no such field; a corrupt or cut field (E2BIG, EBADMSG) is skipped.
			return
		}
		if len(d) > len(f) && d[len(f)] == '=' {
			b.set(f, d[len(f)+1:])
		}
	}
	for _, f := range []string{"MESSAGE", "PRIORITY", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_PID"} {
		get(f)
	}
	if b.e.Identifier == "" {
		get("_COMM")
	}
	if b.e.PID == 1 || b.systemdUnit == "init.scope" || b.systemdUnit == "" {
		get("UNIT") // systemd's messages about a unit
	}
	return b.build(), nil
}

func (s *sdSource) Next(ctx context.Context) (Entry, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return Entry{}, s.err
		}
		select {
		case r := <-s.ch:
			s.buf, s.err = r.entries, r.err
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
	e := s.buf[0]
	s.buf[0] = Entry{}
	s.buf = s.buf[1:]
	s.last = e.Cursor
	return e, nil
}

func (s *sdSource) Cursor() string { return s.last }

func (s *sdSource) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}
