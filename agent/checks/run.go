package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/appagent/appagent/agent/config"
)

// run runs a check once within its timeout and says whether it passed, with one line of
// output for status.
func run(ctx context.Context, c config.Check) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout.Duration)
	defer cancel()
	start := time.Now()
	ok, out := runKind(ctx, c)
	if !ok && timedOut(ctx) {
		out = fmt.Sprintf("no answer within %s", c.Timeout.Duration)
	}
	if ok && out == "" {
		out = fmt.Sprintf("ok in %s", time.Since(start).Round(time.Millisecond))
	}
	return ok, oneLine(out)
}

// timedOut says whether the check's time ran out. ctx.Err() alone is not enough: an HTTP
// check's connection has the context's deadline as its own, and its read can fail with
// "i/o timeout" a moment before the context's timer marks the context done.
func timedOut(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func runKind(ctx context.Context, c config.Check) (bool, string) {
	switch {
	case c.HTTP != "":
		code, err := httpStatus(ctx, c.HTTP)
		if err != nil {
			return false, err.Error()
		}
		if slices.Contains(c.Status, code) {
			return true, fmt.Sprintf("HTTP %d", code)
		}
		return false, fmt.Sprintf("HTTP %d, want %s", code, statusList(c.Status))
	case c.TCP != "":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.TCP)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, "connected"
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Command)
	cmd.Env = commandEnv()
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	cmd.WaitDelay = time.Second // a child that keeps the output open must not hold the check
	err := cmd.Run()
	out := strings.TrimSpace(b.String())
	if err != nil {
		if out == "" {
			out = err.Error()
		} else {
			out = err.Error() + ": " + lastLine(out)
		}
		return false, out
	}
	return true, lastLine(out)
}

func statusList(s []int) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, " or ")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// oneLine makes output safe for a status table and a log line: no control characters, at
// most MaxOutput bytes.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > MaxOutput {
		cut := MaxOutput
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
