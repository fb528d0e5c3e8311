//go:build cgo

package logfwd

import (
	"context"
	"errors"
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
	ch   chan entryOrErr
	stop chan struct{}
	done chan struct{}
	once sync.Once
	last string
	err  error
}

// OpenSDJournal opens the local journal (or o.Directory) and starts reading at the place o
// says. It fails when libsystemd cannot be loaded.
func OpenSDJournal(o SourceOptions) (Source, error) {
	s := &sdSource{ch: make(chan entryOrErr, 128), stop: make(chan struct{}), done: make(chan struct{})}
	opened := make(chan error, 1)
	go s.run(o, opened)
	if err := <-opened; err != nil {
		return nil, err
	}
	return s, nil
}

// sdFields are read per entry besides cursor and time.
var sdFields = fieldsWanted

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

	send := func(r entryOrErr) bool {
		select {
		case s.ch <- r:
			return true
		case <-s.stop:
			return false
		}
	}
	if pending {
		e, err := sdRead(j)
		if !send(entryOrErr{e: e, err: err}) || err != nil {
			return
		}
	}
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, err := j.Next()
		if err != nil {
			send(entryOrErr{err: fmt.Errorf("sd_journal_next: %w", err)})
			return
		}
		if n == 0 {
			// At the end: wait for journald to append (inotify), waking up regularly to
			// notice Close.
			if r := j.Wait(250 * time.Millisecond); r < 0 {
				send(entryOrErr{err: fmt.Errorf("sd_journal_wait: %w", syscall.Errno(-r))})
				return
			}
			continue
		}
		e, err := sdRead(j)
		if !send(entryOrErr{e: e, err: err}) || err != nil {
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
	for _, f := range sdFields {
		d, err := j.GetDataBytes(f)
		if err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue
			}
			// A corrupt or truncated field (E2BIG, EBADMSG) is skipped, not fatal.
			continue
		}
		if len(d) > len(f) && d[len(f)] == '=' {
			b.set(f, d[len(f)+1:])
		}
	}
	return b.build(), nil
}

func (s *sdSource) Next(ctx context.Context) (Entry, error) {
	if s.err != nil {
		return Entry{}, s.err
	}
	select {
	case r := <-s.ch:
		if r.err != nil {
			s.err = r.err
			return Entry{}, r.err
		}
		s.last = r.e.Cursor
		return r.e, nil
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
}

func (s *sdSource) Cursor() string { return s.last }

func (s *sdSource) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}
