//go:build !appagent_nosdjournal

package logfwd

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/appagent/appagent/agent/version"
)

// libsystemd is loaded at run time with purego (dlopen without cgo): the binary is built with
// CGO_ENABLED=0, needs no particular glibc version (it runs on RHEL 8's 2.28 as on Debian
// 13's 2.41), and still starts where libsystemd is missing, falling back to journalctl.

func init() {
	sdjournalOpen = OpenSDJournal
	version.JournalSource = "sdjournal"
}

// OpenSDJournal opens the local journal (or o.Directory) and starts reading at the place o
// says. It fails when libsystemd cannot be loaded.
func OpenSDJournal(o SourceOptions) (Source, error) {
	lib, err := loadSD()
	if err != nil {
		return nil, err
	}
	return openSD(o, lib.open)
}

// sdLib holds the addresses of libsystemd's sd_journal functions (sd-journal(3)) and libc's
// free, called with purego.SyscallN: RegisterLibFunc's reflect-made wrappers cost about a
// microsecond a call, a fifth of the cgo reader's throughput on this API of many small calls.
type sdLib struct {
	open_, openDirectory, closeJ, next, previous, seekTail, seekRealtime, seekCursor,
	testCursor, getCursor, getRealtime, restartData, enumerateData, wait, getFD, process, free uintptr
}

const sdLocalOnly = 1 // SD_JOURNAL_LOCAL_ONLY

var (
	sdOnce sync.Once
	sdL    *sdLib
	sdErr  error
)

func loadSD() (*sdLib, error) {
	sdOnce.Do(func() { sdL, sdErr = loadSDOnce() })
	return sdL, sdErr
}

func loadSDOnce() (*sdLib, error) {
	h, err := purego.Dlopen("libsystemd.so.0", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("load libsystemd.so.0: %w", err)
	}
	libc, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("load libc.so.6: %w", err)
	}
	l := &sdLib{}
	for _, f := range []struct {
		fn   *uintptr
		lib  uintptr
		name string
	}{
		{&l.open_, h, "sd_journal_open"}, {&l.openDirectory, h, "sd_journal_open_directory"},
		{&l.closeJ, h, "sd_journal_close"}, {&l.next, h, "sd_journal_next"}, {&l.previous, h, "sd_journal_previous"},
		{&l.seekTail, h, "sd_journal_seek_tail"}, {&l.seekRealtime, h, "sd_journal_seek_realtime_usec"},
		{&l.seekCursor, h, "sd_journal_seek_cursor"}, {&l.testCursor, h, "sd_journal_test_cursor"},
		{&l.getCursor, h, "sd_journal_get_cursor"}, {&l.getRealtime, h, "sd_journal_get_realtime_usec"},
		{&l.restartData, h, "sd_journal_restart_data"}, {&l.enumerateData, h, "sd_journal_enumerate_data"}, {&l.wait, h, "sd_journal_wait"},
		{&l.getFD, h, "sd_journal_get_fd"}, {&l.process, h, "sd_journal_process"}, {&l.free, libc, "free"},
	} {
		if *f.fn, err = purego.Dlsym(f.lib, f.name); err != nil {
			return nil, fmt.Errorf("libsystemd.so.0: %w", err)
		}
	}
	return l, nil
}

// call calls fn and returns its int result (the API's negative errno on failure).
func call(fn uintptr, args ...uintptr) int32 {
	r, _, _ := purego.SyscallN(fn, args...)
	return int32(r)
}

func errnoOf(r int32) error { return syscall.Errno(-r) }

func ok(r int32) error {
	if r < 0 {
		return errnoOf(r)
	}
	return nil
}

// cStr is s as a NUL-terminated byte slice, for the calls that take a string.
func cStr(s string) []byte { return append([]byte(s), 0) }

func (l *sdLib) open(dir string) (sdHandle, error) {
	h := &sdHandleP{l: l}
	var r int32
	if dir != "" {
		d := cStr(dir)
		r = call(l.openDirectory, uintptr(unsafe.Pointer(&h.j)), uintptr(unsafe.Pointer(&d[0])), 0)
	} else {
		r = call(l.open_, uintptr(unsafe.Pointer(&h.j)), sdLocalOnly)
	}
	if r < 0 {
		return nil, errnoOf(r)
	}
	return h, nil
}

// sdHandleP is an sd_journal opened through purego. data and size receive get_data's and
// get_cursor's results: fields of a heap object, so their addresses stay valid in the call.
type sdHandleP struct {
	l    *sdLib
	j    unsafe.Pointer
	data unsafe.Pointer
	size uintptr
	us   uint64
}

func (h *sdHandleP) jp() uintptr { return uintptr(h.j) }

func (h *sdHandleP) close() { call(h.l.closeJ, h.jp()) }

func (h *sdHandleP) next() (bool, error) {
	r := call(h.l.next, h.jp())
	return r > 0, ok(r)
}

func (h *sdHandleP) previous() error { return ok(call(h.l.previous, h.jp())) }
func (h *sdHandleP) seekTail() error { return ok(call(h.l.seekTail, h.jp())) }
func (h *sdHandleP) seekRealtime(us uint64) error {
	return ok(call(h.l.seekRealtime, h.jp(), uintptr(us)))
}
func (h *sdHandleP) wait(us uint64) error { return ok(call(h.l.wait, h.jp(), uintptr(us))) }

// fd and process make the purego handle an sdFDHandle.
func (h *sdHandleP) fd() (int, error) {
	r := call(h.l.getFD, h.jp())
	if err := ok(r); err != nil {
		return -1, err
	}
	return int(r), nil
}
func (h *sdHandleP) process() error { return ok(call(h.l.process, h.jp())) }
func (h *sdHandleP) seekCursor(c string) error {
	b := cStr(c)
	return ok(call(h.l.seekCursor, h.jp(), uintptr(unsafe.Pointer(&b[0]))))
}
func (h *sdHandleP) testCursor(c string) (bool, error) {
	b := cStr(c)
	r := call(h.l.testCursor, h.jp(), uintptr(unsafe.Pointer(&b[0])))
	return r > 0, ok(r)
}

func (h *sdHandleP) readBatch(buf []byte, max int) (n, used int, err error) {
	for n < max && len(buf)-used >= sdEntryMax {
		more, err := h.next()
		if err != nil {
			return n, used, err
		}
		if !more {
			break
		}
		w, err := h.readCurrent(buf[used:])
		if err != nil {
			return n, used, err
		}
		used += w
		n++
	}
	return n, used, nil
}

// readCurrent writes the current entry's cursor, time and wanted fields (each cut at
// MaxMessage) into buf in the export format.
func (h *sdHandleP) readCurrent(buf []byte) (int, error) {
	out := buf[:0]
	if r := call(h.l.getCursor, h.jp(), uintptr(unsafe.Pointer(&h.data))); r < 0 {
		return 0, errnoOf(r)
	}
	out = exportField(out, "__CURSOR", cString(h.data, 400))
	call(h.l.free, uintptr(h.data))
	h.data = nil
	if r := call(h.l.getRealtime, h.jp(), uintptr(unsafe.Pointer(&h.us))); r < 0 {
		return 0, errnoOf(r)
	}
	var num [24]byte
	out = exportField(out, "__REALTIME_TIMESTAMP", strconv.AppendUint(num[:0], h.us, 10))
	// One walk over the entry's fields (sd_journal_get_data per wanted field searches the
	// entry each time: measured slower).
	call(h.l.restartData, h.jp())
	for {
		r := call(h.l.enumerateData, h.jp(), uintptr(unsafe.Pointer(&h.data)), uintptr(unsafe.Pointer(&h.size)))
		if r < 0 {
			return 0, errnoOf(r)
		}
		if r == 0 {
			break
		}
		// FIELD=value, in libsystemd's mapping of the journal file: copied, not kept.
		v := unsafe.Slice((*byte)(h.data), int(h.size))
		h.data = nil
		name := wantedField(v)
		if name == "" {
			continue
		}
		v = v[len(name)+1:]
		if len(v) > MaxMessage {
			out = exportField(out, "__TRUNCATED", strconv.AppendInt(num[:0], int64(len(v)-MaxMessage), 10))
			v = v[:MaxMessage]
		}
		out = exportField(out, name, v)
	}
	out = append(out, '\n')
	if &out[0] != &buf[0] {
		return 0, errors.New("an entry does not fit the read buffer")
	}
	return len(out), nil
}

// wantedField returns the sdFields name that v ("FIELD=value") has, or "".
func wantedField(v []byte) string {
	for _, f := range sdFields {
		if len(v) > len(f) && v[len(f)] == '=' && string(v[:len(f)]) == f {
			return f
		}
	}
	return ""
}

// cString copies a NUL-terminated C string of at most max bytes.
func cString(p unsafe.Pointer, max int) []byte {
	if p == nil {
		return nil
	}
	n := 0
	for n < max && *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return append([]byte(nil), unsafe.Slice((*byte)(p), n)...)
}
