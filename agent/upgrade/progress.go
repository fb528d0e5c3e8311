package upgrade

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress counts files and bytes of a long operation and prints a line every interval, so a
// slow first start shows in `podman logs` that it is working.
type progress struct {
	what       string
	out        io.Writer
	totalFiles int64
	totalBytes int64
	files      atomic.Int64
	bytes      atomic.Int64
	start      time.Time
	flushStart atomic.Int64 // unix nanoseconds when the flush to disk began; 0 before
	stop       chan struct{}
	done       sync.WaitGroup

	stallAfter int64
}

// testStallAfter makes populate/upgrade stop for good after N files, so that a crash test can
// kill -9 the process in the middle of the work. Only test code sets it (crash_test.go's
// helper process, from StallEnv): the production binary has no way to hang itself, whatever
// its environment says.
var testStallAfter int64

// StallEnv names the environment variable the crash tests' helper process reads into
// testStallAfter.
const StallEnv = "APPAGENT_TEST_STALL_AFTER"

func startProgress(out io.Writer, what string, files, bytes int64, every time.Duration) *progress {
	p := &progress{what: what, out: out, totalFiles: files, totalBytes: bytes, start: time.Now(), stop: make(chan struct{}),
		stallAfter: testStallAfter}
	if every <= 0 {
		every = 2 * time.Second
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				if f := p.flushStart.Load(); f != 0 {
					fmt.Fprintf(p.out, "appagent: %s: all %d files copied; flushing them to disk for %s\n", p.what,
						p.files.Load(), time.Since(time.Unix(0, f)).Round(time.Second))
					continue
				}
				fmt.Fprintf(p.out, "appagent: %s: %d of %d files, %s of %s\n", p.what,
					p.files.Load(), p.totalFiles, mb(p.bytes.Load()), mb(p.totalBytes))
			}
		}
	}()
	return p
}

// add counts one file of n bytes.
func (p *progress) add(n int64) {
	f := p.files.Add(1)
	p.bytes.Add(n)
	if p.stallAfter > 0 && f >= p.stallAfter {
		fmt.Fprintf(p.out, "appagent: %s: %s=%d reached, stalling for the test\n", p.what, StallEnv, p.stallAfter)
		select {} // wait to be killed
	}
}

// flushing marks the end of the copy and the start of the flush to disk: on a disk the flush
// can take longer than the copy (issue 15: 0.8 s of a 1.4 s population of 530 MB), and a
// person watching a slow first start should see which of the two the time goes to.
func (p *progress) flushing() { p.flushStart.Store(time.Now().UnixNano()) }

// finish stops the ticker and prints the summary line, with the copy's and the flush's
// shares when there was a flush.
func (p *progress) finish() {
	close(p.stop)
	p.done.Wait()
	end := time.Now()
	split := ""
	if f := p.flushStart.Load(); f != 0 {
		fs := time.Unix(0, f)
		split = fmt.Sprintf(" (copied in %s, flushed to disk in %s)", fs.Sub(p.start).Round(time.Millisecond),
			end.Sub(fs).Round(time.Millisecond))
	}
	fmt.Fprintf(p.out, "appagent: %s: done, %d files, %s in %s%s\n", p.what, p.files.Load(), mb(p.bytes.Load()),
		end.Sub(p.start).Round(time.Millisecond), split)
}

func mb(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
