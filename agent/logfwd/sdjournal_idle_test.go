package logfwd

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// idleHandle is a journal with nothing in it and a change notification that never fires:
// it counts how often the reader looks.
type idleHandle struct {
	waits, sleeps atomic.Int32
	notify        [2]int // a pipe nobody writes to: journald's descriptor, silent
}

func (h *idleHandle) close()                                  {}
func (h *idleHandle) next() (bool, error)                     { return false, nil }
func (h *idleHandle) previous() error                         { return nil }
func (h *idleHandle) seekTail() error                         { return nil }
func (h *idleHandle) seekRealtime(uint64) error               { return nil }
func (h *idleHandle) seekCursor(string) error                 { return nil }
func (h *idleHandle) testCursor(string) (bool, error)         { return false, nil }
func (h *idleHandle) readBatch([]byte, int) (int, int, error) { return 0, 0, nil }
func (h *idleHandle) readCurrent([]byte) (int, error)         { return 0, nil }
func (h *idleHandle) wait(us uint64) error {
	h.waits.Add(1)
	time.Sleep(time.Duration(us) * time.Microsecond)
	return nil
}
func (h *idleHandle) fd() (int, error) { h.sleeps.Add(1); return h.notify[0], nil }
func (h *idleHandle) process() error   { return nil }

// An idle reader stops looking after a second of silence and sleeps on the notification
// (no polling loop: its count of looks stands still), and Close wakes it at once rather than
// after sdIdleSafety.
func TestIdleReaderSleeps(t *testing.T) {
	h := &idleHandle{}
	if err := unix.Pipe2(h.notify[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(h.notify[0])
	defer unix.Close(h.notify[1])
	src, err := openSD(SourceOptions{}, func(string) (sdHandle, error) { return h, nil })
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for h.sleeps.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if h.sleeps.Load() == 0 {
		t.Fatalf("the reader never went to sleep (%d looks)", h.waits.Load())
	}
	before := h.waits.Load()
	time.Sleep(time.Second)
	if after := h.waits.Load(); after != before || h.sleeps.Load() != 1 {
		t.Errorf("an idle reader kept looking: %d looks then %d, %d sleeps", before, after, h.sleeps.Load())
	}
	closed := make(chan struct{})
	go func() { src.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(sdIdleSafety / 2):
		t.Fatalf("Close did not wake the sleeping reader")
	}
}
