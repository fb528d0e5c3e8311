package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/config"
)

// An HTTP check makes one GET and reads one status line. http:// is spoken here and https://
// runs curl from the image: net/http and crypto/tls would add 2.8 MB of code to the binary
// and 2 MB to the agent's resident memory in every container (issue 15, docs/performance.md),
// for a request that needs neither keep-alive, nor redirects, nor a body.

// userAgent names the checks in a server's access log.
const userAgent = "appagent-check"

// statusLineMax bounds what is read of an answer before its status line must have ended.
const statusLineMax = 1024

// httpStatus fetches rawURL (validated by config: http:// or https:// with a host) with GET
// and returns its status code. Redirects are not followed, no proxy is used, and the request
// says "Connection: close", which the server is left to honour by closing its side.
func httpStatus(ctx context.Context, rawURL string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, err
	}
	if u.Scheme == "https" {
		return curlStatus(ctx, rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	// The deadline ends a server that accepts and never answers; a cancel (the container
	// stopping) ends the wait at once.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, request(u)); err != nil {
		return 0, err
	}
	return readStatus(bufio.NewReaderSize(conn, statusLineMax))
}

// request is the GET request for u, as HTTP/1.1 wants it (RFC 9112: a Host header, the path
// and query as the target).
func request(u *url.URL) string {
	return "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: " + userAgent +
		"\r\nAccept: */*\r\nConnection: close\r\n\r\n"
}

// readStatus reads an HTTP/1.x status line (RFC 9112 section 4: HTTP-version SP 3DIGIT SP
// [reason]) and returns its code; anything else is an error that quotes what came.
func readStatus(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, fmt.Errorf("the answer's first %d bytes hold no status line", statusLineMax)
		}
		if len(line) == 0 {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("the server closed the connection without an answer")
			}
			return 0, err
		}
		return 0, fmt.Errorf("the answer ended within its status line %q", line)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	version, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(rest, []byte(" "))
	if !bytes.HasPrefix(version, []byte("HTTP/1.")) || len(version) != len("HTTP/1.1") || len(code) != 3 {
		return 0, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	n, err := strconv.Atoi(string(code))
	if err != nil || n < 100 || code[0] == '+' {
		return 0, fmt.Errorf("not an HTTP status code in %q", line)
	}
	return n, nil
}

// curlPaths are where an image's curl is looked for, in the order of baseEnv's PATH.
var curlPaths = strings.Split(strings.TrimPrefix(baseEnv[0], "PATH="), ":")

// findCurl returns the curl under root (the image's filesystem; "/" in the container), or an
// error that says what to do.
func findCurl(root string) (string, error) {
	for _, dir := range curlPaths {
		p := filepath.Join(dir, "curl")
		if isExecutable(filepath.Join(root, p)) {
			return p, nil
		}
	}
	return "", errors.New("an https:// check runs curl, which is not in the image: install curl (Debian: apt-get install curl), or check http:// or tcp:")
}

// curlStatus asks curl for rawURL's status code: GET, no redirects followed, no proxy, the
// certificate checked as curl does, within the context's deadline.
func curlStatus(ctx context.Context, rawURL string) (int, error) {
	curl, err := findCurl("/")
	if err != nil {
		return 0, err
	}
	args := []string{"--silent", "--show-error", "--output", "/dev/null", "--write-out", "%{http_code}",
		"--noproxy", "*", "--proto", "=https", "--user-agent", userAgent, "--header", "Connection: close"}
	if dl, ok := ctx.Deadline(); ok {
		args = append(args, "--max-time", strconv.FormatFloat(time.Until(dl).Seconds(), 'f', 3, 64))
	}
	cmd := exec.CommandContext(ctx, curl, append(args, "--", rawURL)...)
	cmd.Env = baseEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	if n, err := strconv.Atoi(strings.TrimSpace(stdout.String())); err == nil && n >= 100 && n <= 999 {
		return n, nil
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		// curl's own line ("curl: (60) SSL certificate problem: ..."); advice may follow it.
		for _, l := range strings.Split(msg, "\n") {
			if strings.HasPrefix(l, "curl: (") {
				return 0, errors.New(l)
			}
		}
		return 0, errors.New(lastLine(msg))
	}
	if runErr != nil {
		return 0, fmt.Errorf("%s: %w", curl, runErr)
	}
	return 0, fmt.Errorf("%s printed no status code: %q", curl, stdout.String())
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// CheckImage reports, at image build time (prepare), a check the image under root cannot run:
// an https:// check without curl would fail at every run of the container.
func CheckImage(root string, cfg *config.Config) config.Report {
	var rep config.Report
	for i, k := range cfg.Checks {
		if !strings.HasPrefix(k.HTTP, "https://") {
			continue
		}
		if _, err := findCurl(root); err != nil {
			rep.Add(config.Problem{File: cfg.File, Line: k.Line, Key: fmt.Sprintf("checks[%d] (%s).http", i, k.Name),
				Severity: config.Error, Message: err.Error()})
		}
	}
	return rep
}
