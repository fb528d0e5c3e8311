package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	if !ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		out = fmt.Sprintf("no answer within %s", c.Timeout.Duration)
	}
	if ok && out == "" {
		out = fmt.Sprintf("ok in %s", time.Since(start).Round(time.Millisecond))
	}
	return ok, oneLine(out)
}

// probeTransport asks for "Connection: close" and keeps no idle connection: a check left
// behind as an open keep-alive holds a server's worker, which then outlives the server's
// graceful stop (seen with Apache: systemd had to SIGKILL the worker at every container
// stop). It uses no proxy: the environment's proxy is not the application's.
var probeTransport = &http.Transport{DisableKeepAlives: true, Proxy: nil, ForceAttemptHTTP2: false,
	TLSHandshakeTimeout: 10 * time.Second}

func runKind(ctx context.Context, c config.Check) (bool, string) {
	switch {
	case c.HTTP != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HTTP, nil)
		if err != nil {
			return false, err.Error()
		}
		client := &http.Client{Transport: probeTransport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		if slices.Contains(c.Status, resp.StatusCode) {
			return true, fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return false, fmt.Sprintf("HTTP %d, want %s", resp.StatusCode, statusList(c.Status))
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
