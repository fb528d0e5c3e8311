package logfwd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sdHandle is one open sd_journal (libsystemd's sd-journal API): sdjournal_purego.go loads
// libsystemd at run time without cgo (the shipped, static-glibc-free build), and
// sdjournal_cgo.go (tag appagent_cgojournal) is the cgo reader it replaced, kept for the
// benchmark that compares them. Errors are the API's negative errnos, wrapped.
type sdHandle interface {
	close()
	next() (bool, error) // false: at the end
	previous() error
	seekTail() error
	seekRealtime(usec uint64) error
	seekCursor(cursor string) error
	testCursor(cursor string) (bool, error)
	wait(usec uint64) error
	// readBatch moves to and reads up to max entries into buf in the journal export format
	// (writeExportEntry); it returns the entries read (0: at the end) and the bytes used.
	readBatch(buf []byte, max int) (n, used int, err error)
	// readCurrent reads the entry the handle is positioned on (after a seek).
	readCurrent(buf []byte) (int, error)
}

// sdFDHandle is a handle whose change notification can be waited for beside other file
// descriptors (sd_journal_get_fd and sd_journal_process): an idle reader then sleeps until
// journald appends or the source is closed, with no periodic wake-up.
type sdFDHandle interface {
	fd() (int, error)
	process() error
}

// sdOpener opens the local journal, or the journal files in dir.
type sdOpener func(dir string) (sdHandle, error)

// sdSource reads the journal with libsystemd's sd-journal API. An sd_journal handle must only
// be used by one thread, so one goroutine locked to its OS thread owns it from open to close
// and hands entries over in batches.
//
// Why not go-systemd's sdjournal: it needs cgo (the binary then needs the build machine's
// glibc, 2.34 on Debian 12, where RHEL 8 has 2.28), and costs three calls and two
// allocations per field. Here a batch of up to sdBatchMax entries is read (each entry's
// wanted fields fetched by name) into a buffer in the journal export format, which the same
// parser as the journalctl source reads.
type sdSource struct {
	ch   chan sdBatch
	buf  []Entry
	stop chan struct{}
	done chan struct{}
	// wake is a pipe Close writes to, so that an idle reader's poll(2) returns at once.
	wakeR, wakeW int
	once         sync.Once
	last         string
	err          error
}

// sdBatch carries entries read in one go, or the error that ended reading.
type sdBatch struct {
	entries []Entry
	err     error
}

const (
	// sdBatchMax bounds a batch; with 4 batches in the channel, at most 4*256 entries wait
	// between the journal and the queue.
	sdBatchMax = 256
	// sdBufSize is the buffer a batch is read into; an entry needs at most sdEntryMax bytes,
	// so even entries of maximal size make progress.
	sdBufSize = 1 << 20
	// sdPoll is how long the reader waits for journald's change notification before it
	// looks at the journal anyway. journald announces appends (inotify) at most every 250 ms
	// while busy, but the entries are in the shared mapping at once: looking every 25 ms
	// keeps the latency low for a few cheap wake-ups a second.
	sdPoll = 25 * time.Millisecond
	// sdIdleAfter empty looks (a second of silence) put the reader to sleep on journald's
	// notification alone (sdFDHandle), so an idle agent does not wake 40 times a second;
	// the first entry after the silence then comes with journald's notification, which it
	// sends at most 250 ms after an append. sdIdleSafety bounds that sleep all the same.
	sdIdleAfter  = 40
	sdIdleSafety = 60 * time.Second
	// sdRecycle: after this many entries the reader reopens the journal after the last
	// entry read. sd-journal keeps the windows of the journal files it mapped, and every
	// page read stays in the process's RSS (RssShmem: the volatile journal is on tmpfs);
	// reading a 100,000-line burst added 20 MB. Reopening costs a few milliseconds. At
	// 20,000 the burst still peaked at 6.1 MB of journal pages, at 5,000 at 2.8 MB, at 2,000
	// at 2.3 MB (the agent's peak RSS 25.7 -> 22.7 -> about 22 MB with the rest unchanged),
	// with no throughput change the runs could tell from their noise
	// (BenchmarkForwardVsJournalctl, 2026-12-02).
	sdRecycle = 2000
)

// sdFields are the fields an entry is read with (fieldsWanted, in the export format).
var sdFields = fieldsWanted

// sdEntryMax is the most one entry takes in the export format: every field cut at
// MaxMessage, plus the cursor, the time and a truncation note.
var sdEntryMax = (len(sdFields)+3)*(MaxMessage+64) + 512

// openSD starts a reader on the handles open gives, at the place o says.
func openSD(o SourceOptions, open sdOpener) (Source, error) {
	s := &sdSource{ch: make(chan sdBatch, 4), stop: make(chan struct{}), done: make(chan struct{})}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("journal reader: wake-up pipe: %w", err)
	}
	s.wakeR, s.wakeW = p[0], p[1]
	opened := make(chan error, 1)
	go s.run(o, open, opened)
	if err := <-opened; err != nil {
		s.closePipe()
		return nil, err
	}
	return s, nil
}

func (s *sdSource) closePipe() {
	unix.Close(s.wakeR)
	unix.Close(s.wakeW)
}

func (s *sdSource) run(o SourceOptions, open sdOpener, opened chan<- error) {
	runtime.LockOSThread()
	// The thread is never unlocked: it ends with the goroutine, so no other goroutine ever
	// runs on a thread that held the journal.
	defer close(s.done)
	j, pending, err := sdOpen(open, o)
	if err != nil {
		opened <- err
		return
	}
	defer func() {
		if j != nil {
			j.close()
		}
	}()
	buf := make([]byte, sdBufSize)
	opened <- nil
	sinceOpen, empty := 0, 0
	var br batchReader

	send := func(b sdBatch) bool {
		select {
		case s.ch <- b:
			return true
		case <-s.stop:
			return false
		}
	}
	// sendCurrent sends the entry sdOpen left the handle on (a seek that lands on an entry
	// rather than before it); false ends the reader.
	sendCurrent := func() bool {
		w, err := j.readCurrent(buf)
		if err != nil {
			send(sdBatch{err: fmt.Errorf("read the journal: %w", err)})
			return false
		}
		entries, err := br.parseBatch(buf[:w], nil)
		return send(sdBatch{entries: entries, err: err}) && err == nil
	}
	if pending && !sendCurrent() {
		return
	}
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, used, err := j.readBatch(buf, sdBatchMax)
		if err != nil {
			send(sdBatch{err: fmt.Errorf("read the journal: %w", err)})
			return
		}
		if n > 0 {
			empty = 0
			entries, err := br.parseBatch(buf[:used], make([]Entry, 0, n))
			if err != nil || len(entries) == 0 {
				send(sdBatch{entries: entries, err: fmt.Errorf("read the journal: %d entries expected, %d parsed: %v", n, len(entries), err)})
				return
			}
			// The reader owns the batch once it is sent: take what is needed first.
			lastCursor := entries[len(entries)-1].Cursor
			if !send(sdBatch{entries: entries}) {
				return
			}
			sinceOpen += n
			if sinceOpen >= sdRecycle && lastCursor != "" {
				// Drop the handle's mappings of the journal files (see sdRecycle).
				j.close()
				o.AfterCursor = lastCursor
				var pending bool
				if j, pending, err = sdOpen(open, o); err != nil {
					j = nil
					send(sdBatch{err: err})
					return
				}
				sinceOpen = 0
				if pending && !sendCurrent() {
					return
				}
			}
			continue
		}
		// At the end: wait for journald to append, or look again after sdPoll; after a
		// second of silence, sleep until journald's notification or Close.
		if fh, ok := j.(sdFDHandle); ok && empty >= sdIdleAfter {
			woken, err := s.sleep(fh)
			if err != nil {
				send(sdBatch{err: err})
				return
			}
			if woken {
				empty = 0
			}
			continue
		}
		empty++
		if err := j.wait(uint64(sdPoll / time.Microsecond)); err != nil {
			send(sdBatch{err: fmt.Errorf("sd_journal_wait: %w", err)})
			return
		}
	}
}

// sleep waits for journald's change notification on the handle's descriptor, a wake-up
// (Next asking, or Close) or sdIdleSafety, and lets the handle take the notification
// (sd_journal_process), as sd_journal_wait does with no timeout of its own. woken tells
// that Next or Close asked.
func (s *sdSource) sleep(fh sdFDHandle) (woken bool, err error) {
	fd, err := fh.fd()
	if err != nil {
		return false, fmt.Errorf("sd_journal_get_fd: %w", err)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(s.wakeR), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, int(sdIdleSafety/time.Millisecond)); err != nil && err != unix.EINTR {
		return false, fmt.Errorf("poll the journal: %w", err)
	}
	woken = false
	if fds[1].Revents&unix.POLLIN != 0 {
		var b [64]byte
		for {
			if n, err := unix.Read(s.wakeR, b[:]); n <= 0 || err != nil {
				break
			}
		}
		woken = true
	}
	if err := fh.process(); err != nil {
		return false, fmt.Errorf("sd_journal_process: %w", err)
	}
	return woken, nil
}

// sdOpen opens the journal and seeks where o says.
func sdOpen(open sdOpener, o SourceOptions) (sdHandle, bool, error) {
	j, err := open(o.Directory)
	if err != nil {
		return nil, false, fmt.Errorf("open the journal %s: %w", o.Directory, err)
	}
	pending, err := sdSeek(j, o)
	if err != nil {
		j.close()
		return nil, false, err
	}
	return j, pending, nil
}

// batchReader parses the batches of one source (only its reading goroutine uses it); it
// keeps its buffer and interned names from batch to batch.
type batchReader struct {
	r bytes.Reader
	x *ExportReader
}

// parseBatch reads the export-format records a handle's readBatch wrote.
func (br *batchReader) parseBatch(b []byte, dst []Entry) ([]Entry, error) {
	br.r.Reset(b)
	if br.x == nil {
		br.x = NewExportReader(&br.r)
	} else {
		br.x.Reset(&br.r)
	}
	x := br.x
	for {
		e, err := x.Next()
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, fmt.Errorf("read the journal: %w", err)
		}
		dst = append(dst, e)
	}
}

// sdSeek positions j; pending says the current entry has to be read before the next batch.
func sdSeek(j sdHandle, o SourceOptions) (pending bool, err error) {
	switch {
	case o.AfterCursor != "":
		if err := j.seekCursor(o.AfterCursor); err != nil {
			return false, fmt.Errorf("seek to the stored cursor: %w", err)
		}
		more, err := j.next()
		if err != nil {
			return false, fmt.Errorf("seek to the stored cursor: %w", err)
		}
		if !more {
			// The journal ends before or at the cursor: nothing to skip.
			return false, nil
		}
		if same, _ := j.testCursor(o.AfterCursor); !same {
			// Not the entry written last: it is gone, and the current entry comes after it,
			// so it has not been written yet.
			if o.OnGap != nil {
				o.OnGap(o.AfterCursor)
			}
			return true, nil
		}
		return false, nil
	case !o.Since.IsZero():
		if err := j.seekRealtime(uint64(o.Since.UnixMicro())); err != nil {
			return false, fmt.Errorf("seek to %s: %w", o.Since.Format(time.RFC3339), err)
		}
		return false, nil
	default:
		if err := j.seekTail(); err != nil {
			return false, fmt.Errorf("seek to the end of the journal: %w", err)
		}
		// After sd_journal_seek_tail, Next() would return the last entry again; Previous()
		// moves onto it, so the following Next() is the first new entry.
		if err := j.previous(); err != nil {
			return false, fmt.Errorf("seek to the end of the journal: %w", err)
		}
		return false, nil
	}
}

func (s *sdSource) Next(ctx context.Context) (Entry, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return Entry{}, s.err
		}
		select {
		case r := <-s.ch:
			s.buf, s.err = r.entries, r.err
			continue
		default:
		}
		// Nothing read yet: a sleeping reader looks again, quickly, for a second. A caller
		// that asks (the forwarder, and its drain at a stop, which must not wait for
		// journald's notification) is worth a look; silence alone is not.
		unix.Write(s.wakeW, []byte{1})
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
		unix.Write(s.wakeW, []byte{0})
		<-s.done
		s.closePipe()
	})
	return nil
}
