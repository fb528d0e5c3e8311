//go:build cgo

package logfwd

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Declared here rather than taken from <systemd/sd-journal.h>: the library is loaded at run
// time, so building needs no libsystemd headers.
typedef struct sd_journal sd_journal;
#define LF_SD_JOURNAL_LOCAL_ONLY 1

// libsystemd is loaded at run time (like go-systemd's sdjournal does), so a binary built with
// cgo still starts where libsystemd is missing and falls back to journalctl.
static struct {
	int (*open)(sd_journal **, int);
	int (*open_directory)(sd_journal **, const char *, int);
	void (*close)(sd_journal *);
	int (*next)(sd_journal *);
	int (*previous)(sd_journal *);
	int (*seek_tail)(sd_journal *);
	int (*seek_realtime_usec)(sd_journal *, uint64_t);
	int (*seek_cursor)(sd_journal *, const char *);
	int (*test_cursor)(sd_journal *, const char *);
	int (*get_cursor)(sd_journal *, char **);
	int (*get_realtime_usec)(sd_journal *, uint64_t *);
	void (*restart_data)(sd_journal *);
	int (*enumerate_data)(sd_journal *, const void **, size_t *);
	int (*wait)(sd_journal *, uint64_t);
} lf;

static const char *lf_load(void) {
	static int loaded = 0;
	if (loaded) return NULL;
	void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
#define SYM(f) if (!(*(void **)(&lf.f) = dlsym(h, "sd_journal_" #f))) return "libsystemd has no sd_journal_" #f;
	SYM(open) SYM(open_directory) SYM(close) SYM(next) SYM(previous) SYM(seek_tail)
	SYM(seek_realtime_usec) SYM(seek_cursor) SYM(test_cursor) SYM(get_cursor)
	SYM(get_realtime_usec) SYM(restart_data) SYM(enumerate_data) SYM(wait)
#undef SYM
	loaded = 1;
	return NULL;
}

static int lf_open(sd_journal **j, const char *dir) {
	if (dir) return lf.open_directory(j, dir, 0);
	return lf.open(j, LF_SD_JOURNAL_LOCAL_ONLY);
}
static void lf_close(sd_journal *j) { lf.close(j); }
static int lf_next(sd_journal *j) { return lf.next(j); }
static int lf_previous(sd_journal *j) { return lf.previous(j); }
static int lf_seek_tail(sd_journal *j) { return lf.seek_tail(j); }
static int lf_seek_realtime(sd_journal *j, uint64_t us) { return lf.seek_realtime_usec(j, us); }
static int lf_seek_cursor(sd_journal *j, const char *c) { return lf.seek_cursor(j, c); }
static int lf_test_cursor(sd_journal *j, const char *c) { return lf.test_cursor(j, c); }
static int lf_wait(sd_journal *j, uint64_t us) { return lf.wait(j, us); }

static const char *lf_fields[] = {"MESSAGE", "PRIORITY", "_SYSTEMD_UNIT", "UNIT", "SYSLOG_IDENTIFIER", "_COMM", "_PID", NULL};

static size_t put(char *p, const char *name, size_t nlen, const void *v, size_t vlen) {
	// Export format, binary form: NAME\n <le64 length> data \n
	memcpy(p, name, nlen);
	p[nlen] = '\n';
	uint64_t l = vlen;
	for (int i = 0; i < 8; i++) p[nlen + 1 + i] = (char)(l >> (8 * i));
	memcpy(p + nlen + 9, v, vlen);
	p[nlen + 9 + vlen] = '\n';
	return nlen + 10 + vlen;
}

// lf_read_entry writes the current entry (the fields logfwd prints, cut at maxval bytes, plus
// __CURSOR and __REALTIME_TIMESTAMP) to buf in the journal export format. It needs at most
// 8 * (maxval + 64) + 512 bytes. Returns the bytes written or a negative errno.
static long lf_read_entry(sd_journal *j, char *buf, size_t maxval) {
	char *p = buf;
	char *cursor = NULL;
	int r = lf.get_cursor(j, &cursor);
	if (r < 0) return r;
	size_t cl = strlen(cursor);
	if (cl > 400) cl = 400;
	p += put(p, "__CURSOR", 8, cursor, cl);
	free(cursor);
	uint64_t us;
	r = lf.get_realtime_usec(j, &us);
	if (r < 0) return r;
	char num[24];
	int nl = snprintf(num, sizeof num, "%llu", (unsigned long long)us);
	p += put(p, "__REALTIME_TIMESTAMP", 20, num, nl);
	const void *d;
	size_t l;
	for (lf.restart_data(j); lf.enumerate_data(j, &d, &l) > 0;) {
		const char *eq = memchr(d, '=', l);
		if (!eq) continue;
		size_t n = eq - (const char *)d;
		for (const char **f = lf_fields; *f; f++) {
			if (strlen(*f) == n && memcmp(*f, d, n) == 0) {
				size_t vl = l - n - 1;
				if (vl > maxval) {
					nl = snprintf(num, sizeof num, "%zu", vl - maxval);
					p += put(p, "__TRUNCATED", 11, num, nl);
					vl = maxval;
				}
				p += put(p, *f, n, eq + 1, vl);
				break;
			}
		}
	}
	*p++ = '\n';
	return p - buf;
}

// lf_read_batch moves to and reads up to max entries into buf (cap bytes); *used gets the
// bytes written. Returns the number of entries (0: at the end) or a negative errno.
static int lf_read_batch(sd_journal *j, char *buf, size_t cap, size_t maxval, int max, size_t *used) {
	size_t need = 8 * (maxval + 64) + 512;
	int n = 0;
	*used = 0;
	while (n < max && cap - *used >= need) {
		int r = lf.next(j);
		if (r < 0) return r;
		if (r == 0) break;
		long w = lf_read_entry(j, buf + *used, maxval);
		if (w < 0) return (int)w;
		*used += w;
		n++;
	}
	return n;
}

// lf_read_current reads the entry the journal is positioned on (after a seek).
static long lf_read_current(sd_journal *j, char *buf, size_t maxval) {
	return lf_read_entry(j, buf, maxval);
}
*/
import "C"

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/appagent/appagent/agent/version"
)

func init() {
	sdjournalOpen = OpenSDJournal
	version.JournalSource = "sdjournal"
}

// sdSource reads the journal with libsystemd's sd-journal API. An sd_journal handle must only
// be used by one thread, so one goroutine locked to its OS thread owns it from open to close
// and hands entries over in batches.
//
// Why not go-systemd's sdjournal: it costs three cgo calls and two allocations per field
// (C string for the name, lookup under a mutex, copy of the value), about 19 cgo calls an
// entry, and reached half of `journalctl -o short`'s throughput. Here one C call reads up to
// sdBatchMax entries (enumerating each entry's fields once) into a buffer in the journal
// export format, which the same parser as the journalctl source reads.
type sdSource struct {
	ch   chan sdBatch
	buf  []Entry
	stop chan struct{}
	done chan struct{}
	once sync.Once
	last string
	err  error
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
	// sdBufSize is the C buffer a batch is read into; an entry needs at most
	// 8*(MaxMessage+64)+512 bytes, so even entries of maximal size make progress.
	sdBufSize = 1 << 20
	// sdPoll is how long the reader waits for journald's change notification before it
	// looks at the journal anyway. journald announces appends (inotify) at most every 250 ms
	// while busy, but the entries are in the shared mapping at once: looking every 25 ms
	// keeps the latency low for a few cheap wake-ups a second.
	sdPoll = 25 * time.Millisecond
	// sdRecycle: after this many entries the reader reopens the journal after the last
	// entry read. sd-journal keeps the windows of the journal files it mapped, and every
	// page read stays in the process's RSS (RssShmem: the volatile journal is on tmpfs);
	// reading a 100,000-line burst added 20 MB. Reopening costs a few milliseconds.
	sdRecycle = 20000
)

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

func errno(r C.int) error { return syscall.Errno(-r) }

func (s *sdSource) run(o SourceOptions, opened chan<- error) {
	runtime.LockOSThread()
	// The thread is never unlocked: it ends with the goroutine, so no other goroutine ever
	// runs on a thread that held the journal.
	defer close(s.done)
	if msg := C.lf_load(); msg != nil {
		opened <- fmt.Errorf("load libsystemd.so.0: %s", C.GoString(msg))
		return
	}
	var cdir *C.char
	if o.Directory != "" {
		cdir = C.CString(o.Directory)
		defer C.free(unsafe.Pointer(cdir))
	}
	j, pending, err := sdOpen(cdir, o)
	if err != nil {
		opened <- err
		return
	}
	defer func() {
		if j != nil {
			C.lf_close(j)
		}
	}()
	cbuf := (*C.char)(C.malloc(sdBufSize))
	defer C.free(unsafe.Pointer(cbuf))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(cbuf)), sdBufSize)
	opened <- nil
	sinceOpen := 0
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
		w := C.lf_read_current(j, cbuf, MaxMessage)
		if w < 0 {
			send(sdBatch{err: fmt.Errorf("read the journal: %w", syscall.Errno(-w))})
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
		var used C.size_t
		n := C.lf_read_batch(j, cbuf, sdBufSize, MaxMessage, sdBatchMax, &used)
		if n < 0 {
			send(sdBatch{err: fmt.Errorf("read the journal: %w", errno(n))})
			return
		}
		if n > 0 {
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
			sinceOpen += int(n)
			if sinceOpen >= sdRecycle && lastCursor != "" {
				// Drop the handle's mappings of the journal files (see sdRecycle).
				C.lf_close(j)
				o.AfterCursor = lastCursor
				var pending bool
				if j, pending, err = sdOpen(cdir, o); err != nil {
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
		// At the end: wait for journald to append, or look again after sdPoll.
		if r := C.lf_wait(j, C.uint64_t(sdPoll/time.Microsecond)); r < 0 {
			send(sdBatch{err: fmt.Errorf("sd_journal_wait: %w", errno(r))})
			return
		}
	}
}

// sdOpen opens the journal and seeks where o says.
func sdOpen(cdir *C.char, o SourceOptions) (*C.sd_journal, bool, error) {
	var j *C.sd_journal
	if r := C.lf_open(&j, cdir); r < 0 {
		return nil, false, fmt.Errorf("open the journal %s: %w", o.Directory, errno(r))
	}
	pending, err := sdSeek(j, o)
	if err != nil {
		C.lf_close(j)
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

// parseBatch reads the export-format records lf_read_batch wrote.
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
func sdSeek(j *C.sd_journal, o SourceOptions) (pending bool, err error) {
	switch {
	case o.AfterCursor != "":
		c := C.CString(o.AfterCursor)
		defer C.free(unsafe.Pointer(c))
		if r := C.lf_seek_cursor(j, c); r < 0 {
			return false, fmt.Errorf("seek to the stored cursor: %w", errno(r))
		}
		r := C.lf_next(j)
		if r < 0 {
			return false, fmt.Errorf("seek to the stored cursor: %w", errno(r))
		}
		if r == 0 {
			// The journal ends before or at the cursor: nothing to skip.
			return false, nil
		}
		if C.lf_test_cursor(j, c) <= 0 {
			// Not the entry written last: it is gone, and the current entry comes after it,
			// so it has not been written yet.
			if o.OnGap != nil {
				o.OnGap(o.AfterCursor)
			}
			return true, nil
		}
		return false, nil
	case !o.Since.IsZero():
		if r := C.lf_seek_realtime(j, C.uint64_t(o.Since.UnixMicro())); r < 0 {
			return false, fmt.Errorf("seek to %s: %w", o.Since.Format(time.RFC3339), errno(r))
		}
		return false, nil
	default:
		if r := C.lf_seek_tail(j); r < 0 {
			return false, fmt.Errorf("seek to the end of the journal: %w", errno(r))
		}
		// After sd_journal_seek_tail, Next() would return the last entry again; Previous()
		// moves onto it, so the following Next() is the first new entry.
		if r := C.lf_previous(j); r < 0 {
			return false, fmt.Errorf("seek to the end of the journal: %w", errno(r))
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
