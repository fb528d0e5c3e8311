package logfwd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// A console for systemd's own last words. systemd as PID 1 writes what it says before
// journald runs (and why it dies: "Failed to mount tmpfs at /run/lock … Exiting PID 1") to
// /dev/console only, and without -t no runtime makes one: the container then exits with
// nothing in `docker logs`/`podman logs`. So when /dev/console is missing, init makes it a
// symlink to a pty whose other end the keeper copies, line by line in the log format, to the
// container's stdout. systemd accepts it because it is a terminal (it refuses a pipe). Once the
// agent has the stdout and forwards the journal, the console's lines are dropped: they are the
// same events (status lines at shutdown).
//
// This is best effort for a systemd that dies at once: the kernel moves pty output to the
// reader through a work queue, and PID 1's exit kills the keeper at once, so lines written in
// the last instant can be lost (about half of the runs on a 2-core VM). The preflight is what
// catches the known causes first; -t shows the rest for sure. docs/runtimes.md says so.

// Console is the pty that stands in for /dev/console: the keeper reads Master; Slave is kept
// open by the keeper too, so that reads do not end (EIO) each time systemd closes its console.
type Console struct {
	Master, Slave *os.File
	Link          string // the symlink made (/dev/console)
}

// ConsolePath is where systemd looks for its console.
const ConsolePath = "/dev/console"

// MakeConsole makes link (ConsolePath) a symlink to a new pty, unless something is there
// already (nspawn's console, -t's terminal). It returns nil, nil when there was one.
func MakeConsole(link string) (*Console, error) {
	if _, err := os.Lstat(link); err == nil {
		return nil, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("logfwd: console: %w", err)
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("logfwd: console: open /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (*Console, error) {
		master.Close()
		return nil, fmt.Errorf("logfwd: console: %s: %w", what, err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlock the pty", err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fail("pty number", err)
	}
	slavePath := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fail("open "+slavePath, err)
	}
	// Raw output: no "\r\n" for "\n", no echo of what nobody types.
	if t, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS); err == nil {
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ICANON
		_ = unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, t)
	}
	if err := os.Symlink(slavePath, link); err != nil {
		slave.Close()
		return fail("link "+link, err)
	}
	return &Console{Master: master, Slave: slave, Link: link}, nil
}

// Close closes both ends and removes the link (for a failed start).
func (c *Console) Close() {
	if c == nil {
		return
	}
	c.Master.Close()
	c.Slave.Close()
	if target, err := os.Readlink(c.Link); err == nil && filepath.Dir(target) == "/dev/pts" {
		_ = os.Remove(c.Link)
	}
}

// CopyConsole writes each line read from the console's master to w as one entry of format f
// from systemd[1], without terminal escapes (systemd colours its console). It returns when r
// ends.
func CopyConsole(w io.Writer, f Format, r io.Reader) {
	lw := NewLineWriter(w, f, "systemd")
	lw.pid = 1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := stripEscapes(bytes.TrimRight(sc.Bytes(), "\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		_ = lw.Entry(priorityOf(line), line)
	}
}

// priorityOf guesses the priority of a console line: systemd marks failures with "!!!!!!"
// and "[FAILED]" and its fatal last words with "Exiting PID 1" / "Freezing execution".
func priorityOf(line []byte) int {
	for _, s := range []string{"!!!!!!", "FAILED", "Failed", "Exiting PID 1", "Freezing execution"} {
		if bytes.Contains(line, []byte(s)) {
			return 3
		}
	}
	return 6
}

// stripEscapes removes ANSI CSI sequences (ESC [ … final byte) and other escape sequences.
func stripEscapes(b []byte) []byte {
	if bytes.IndexByte(b, 0x1b) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != 0x1b {
			out = append(out, b[i])
			continue
		}
		if i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		// ESC, intermediate bytes (0x20-0x2f), one final byte: "ESC ( B" and the like.
		j := i + 1
		for j < len(b) && b[j] >= 0x20 && b[j] <= 0x2f {
			j++
		}
		i = j
	}
	return out
}
