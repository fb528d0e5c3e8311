package logfwd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// journalctlSource runs `journalctl -o export --follow` and parses its output. It is the
// source of builds without cgo and the fallback when libsystemd cannot be loaded.
type journalctlSource struct {
	cmd    *exec.Cmd
	ch     chan entryOrErr
	stop   chan struct{}
	once   sync.Once
	last   string
	err    error
	stderr *bytes.Buffer
	done   chan struct{}
}

// JournalctlArgs returns the journalctl arguments for o (without the program name).
func JournalctlArgs(o SourceOptions) []string {
	args := []string{"--output=export", "--follow", "--no-tail", "--quiet",
		"--output-fields=" + strings.Join(fieldsWanted, ",")}
	switch {
	case o.AfterCursor != "":
		args = append(args, "--after-cursor="+o.AfterCursor)
	case !o.Since.IsZero():
		// journalctl takes whole seconds after "@"; starting up to a second early only adds
		// entries of the same boot when the journal is persistent.
		args = append(args, "--since=@"+strconv.FormatInt(o.Since.Unix(), 10))
	default:
		args = append(args, "--lines=0")
	}
	if o.Directory != "" {
		args = append(args, "--directory="+o.Directory)
	}
	return args
}

// OpenJournalctl starts journalctl and returns its entries.
func OpenJournalctl(o SourceOptions) (Source, error) {
	bin := o.Journalctl
	if bin == "" {
		bin = "journalctl"
	}
	cmd := exec.Command(bin, JournalctlArgs(o)...)
	stderr := &bytes.Buffer{}
	cmd.Stderr = &limitedWriter{w: stderr, n: 4096}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("journalctl source: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("journalctl source: start %s: %w (install systemd's journalctl, or build appagent with cgo for the sdjournal source)", bin, err)
	}
	s := &journalctlSource{cmd: cmd, ch: make(chan entryOrErr, 256), stop: make(chan struct{}), stderr: stderr, done: make(chan struct{})}
	go s.read(out, o)
	return s, nil
}

func (s *journalctlSource) read(out io.Reader, o SourceOptions) {
	defer close(s.done)
	x := NewExportReader(out)
	for {
		e, err := x.Next()
		if err != nil {
			werr := s.cmd.Wait()
			if err == io.EOF {
				err = fmt.Errorf("journalctl ended (%v): %s", werr, strings.TrimSpace(s.stderr.String()))
			} else {
				_ = s.cmd.Process.Kill()
				err = fmt.Errorf("journalctl output: %w", err)
			}
			select {
			case s.ch <- entryOrErr{err: err}:
			case <-s.stop:
			}
			return
		}
		select {
		case s.ch <- entryOrErr{e: e}:
		case <-s.stop:
			return
		}
	}
}

func (s *journalctlSource) Next(ctx context.Context) (Entry, error) {
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

func (s *journalctlSource) Cursor() string { return s.last }

func (s *journalctlSource) Close() error {
	s.once.Do(func() {
		close(s.stop)
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return nil
}

// limitedWriter keeps the first n bytes (journalctl's error message) and drops the rest.
type limitedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
	n  int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
