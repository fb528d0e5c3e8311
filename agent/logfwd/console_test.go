package logfwd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStripEscapes(t *testing.T) {
	cases := map[string]string{
		"plain":                              "plain",
		"\x1b[0;1;31mFailed to mount\x1b[0m": "Failed to mount",
		"[\x1b[0;1;31m!!!!!!\x1b[0m] Failed to mount": "[!!!!!!] Failed to mount",
		"a\x1b(Bb":  "ab",
		"cut \x1b[": "cut ",
	}
	for in, want := range cases {
		if got := string(stripEscapes([]byte(in))); got != want {
			t.Errorf("stripEscapes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCopyConsole(t *testing.T) {
	in := "systemd 252 running in system mode\r\n\x1b[0;1;31mFailed to mount tmpfs at /run/lock: Operation not permitted\x1b[0m\n\n[\x1b[0;1;31m!!!!!!\x1b[0m] Failed to mount API filesystems.\nExiting PID 1...\n"
	var out bytes.Buffer
	CopyConsole(&out, Short{}, strings.NewReader(in))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"systemd[1]: systemd 252 running", "systemd[1]: Failed to mount tmpfs at /run/lock", "systemd[1]: [!!!!!!] Failed to mount API", "systemd[1]: Exiting PID 1..."} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
	out.Reset()
	CopyConsole(&out, JSON{}, strings.NewReader("Exiting PID 1...\n"))
	if got := out.String(); !strings.Contains(got, `"identifier":"systemd","pid":1,"priority":3,"message":"Exiting PID 1..."`) {
		t.Errorf("JSON entry = %s", got)
	}
}

// A real pty: what is written to the link comes out of the master, and the link is a
// terminal (systemd refuses a console that is not).
func TestMakeConsole(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skip("no /dev/ptmx")
	}
	link := filepath.Join(t.TempDir(), "console")
	c, err := MakeConsole(link)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c == nil {
		t.Fatal("MakeConsole made nothing where nothing was")
	}
	f, err := os.OpenFile(link, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !isTerminal(f) {
		t.Errorf("%s is not a terminal", link)
	}
	if _, err := f.WriteString("Exiting PID 1...\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	done := make(chan string)
	go func() {
		var out bytes.Buffer
		CopyConsole(&out, Short{}, c.Master)
		done <- out.String()
	}()
	time.Sleep(200 * time.Millisecond)
	c.Slave.Close() // the master's reads end once no slave is open
	select {
	case got := <-done:
		if !strings.Contains(got, "systemd[1]: Exiting PID 1...") {
			t.Errorf("copied %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("CopyConsole did not return after the slave closed")
	}
	// Something there already (nspawn's console, -t): left alone.
	again, err := MakeConsole(link)
	if err != nil || again != nil {
		t.Errorf("MakeConsole over an existing console = %v, %v; want nil, nil", again, err)
	}
}
