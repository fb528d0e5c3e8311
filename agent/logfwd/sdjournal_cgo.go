//go:build cgo && appagent_cgojournal

package logfwd

// The cgo reader the purego one (sdjournal_purego.go) replaced: a binary with cgo needs the
// build machine's glibc (2.34 on Debian 12), so the shipped build has none. Built only with
// -tags appagent_cgojournal, for BenchmarkSDJournalReaders, which compares the two.

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
	"fmt"
	"syscall"
	"unsafe"
)

// OpenSDJournalCgo is OpenSDJournal over the cgo reader.
func OpenSDJournalCgo(o SourceOptions) (Source, error) {
	if msg := C.lf_load(); msg != nil {
		return nil, fmt.Errorf("load libsystemd.so.0: %s", C.GoString(msg))
	}
	return openSD(o, func(dir string) (sdHandle, error) {
		var cdir *C.char
		if dir != "" {
			cdir = C.CString(dir)
			defer C.free(unsafe.Pointer(cdir))
		}
		var j *C.sd_journal
		if r := C.lf_open(&j, cdir); r < 0 {
			return nil, cErrno(r)
		}
		return &sdHandleC{j: j}, nil
	})
}

func cErrno(r C.int) error {
	if r < 0 {
		return syscall.Errno(-r)
	}
	return nil
}

type sdHandleC struct{ j *C.sd_journal }

func (h *sdHandleC) close() { C.lf_close(h.j) }
func (h *sdHandleC) next() (bool, error) {
	r := C.lf_next(h.j)
	return r > 0, cErrno(r)
}
func (h *sdHandleC) previous() error { return cErrno(C.lf_previous(h.j)) }
func (h *sdHandleC) seekTail() error { return cErrno(C.lf_seek_tail(h.j)) }
func (h *sdHandleC) seekRealtime(us uint64) error {
	return cErrno(C.lf_seek_realtime(h.j, C.uint64_t(us)))
}
func (h *sdHandleC) wait(us uint64) error { return cErrno(C.lf_wait(h.j, C.uint64_t(us))) }
func (h *sdHandleC) seekCursor(c string) error {
	cs := C.CString(c)
	defer C.free(unsafe.Pointer(cs))
	return cErrno(C.lf_seek_cursor(h.j, cs))
}
func (h *sdHandleC) testCursor(c string) (bool, error) {
	cs := C.CString(c)
	defer C.free(unsafe.Pointer(cs))
	r := C.lf_test_cursor(h.j, cs)
	return r > 0, cErrno(r)
}
func (h *sdHandleC) readBatch(buf []byte, max int) (int, int, error) {
	var used C.size_t
	n := C.lf_read_batch(h.j, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), MaxMessage, C.int(max), &used)
	if n < 0 {
		return 0, 0, cErrno(n)
	}
	return int(n), int(used), nil
}
func (h *sdHandleC) readCurrent(buf []byte) (int, error) {
	w := C.lf_read_current(h.j, (*C.char)(unsafe.Pointer(&buf[0])), MaxMessage)
	if w < 0 {
		return 0, syscall.Errno(-w)
	}
	return int(w), nil
}
