package logfwd

import (
	"bytes"
	"io"
	"os"
	"time"
)

// LineWriter turns each line written to it into one entry of a format. appagent init uses it in
// JSON mode for what it prints before systemd and the agent run (preflight, parameter warnings,
// volume progress, the final error), so `podman logs` is JSON from its first line.
type LineWriter struct {
	w          io.Writer
	f          Format
	identifier string
	pid        int
	buf        []byte
	now        func() time.Time
}

// NewLineWriter writes entries of format f with the given identifier to w.
func NewLineWriter(w io.Writer, f Format, identifier string) *LineWriter {
	return &LineWriter{w: w, f: f, identifier: identifier, pid: os.Getpid(), now: time.Now}
}

// Write implements io.Writer: every complete line becomes an entry at priority info; a partial
// line waits for its end (or Flush).
func (l *LineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := l.Entry(6, l.buf[:i]); err != nil {
			return len(p), err
		}
		l.buf = l.buf[i+1:]
	}
}

// Entry writes one entry with the given syslog priority (3 err, 4 warning, 6 info); message
// may hold several lines.
func (l *LineWriter) Entry(priority int, message []byte) error {
	e := Entry{Time: l.now().UTC(), Identifier: l.identifier, PID: l.pid, Priority: priority, Message: message}
	_, err := l.w.Write(l.f.Append(nil, &e))
	return err
}

// Flush writes a pending partial line.
func (l *LineWriter) Flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	err := l.Entry(6, l.buf)
	l.buf = nil
	return err
}
