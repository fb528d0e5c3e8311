package checks

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
)

func TestReadStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		err  string
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, ""},
		{"HTTP/1.0 503 Service Unavailable\r\n", 503, ""},
		{"HTTP/1.1 204\r\n", 204, ""}, // the reason phrase may be absent
		{"HTTP/1.1 302 Found\n", 302, ""},
		{"", 0, "closed the connection without an answer"},
		{"HTTP/1.1 200", 0, "ended within its status line"},
		{"SSH-2.0-OpenSSH_9.2\r\n", 0, "not an HTTP/1 status line"},
		{"HTTP/2 200\r\n", 0, "not an HTTP/1 status line"},
		{"HTTP/1.1 20 OK\r\n", 0, "not an HTTP/1 status line"},
		{"HTTP/1.1 abc OK\r\n", 0, "not an HTTP status code"},
		{"HTTP/1.1 +20 OK\r\n", 0, "not an HTTP status code"},
		{"HTTP/1.1 099 OK\r\n", 0, "not an HTTP status code"},
		{"HTTP/1.1 200 " + strings.Repeat("x", statusLineMax) + "\r\n", 0, "hold no status line"},
	} {
		code, err := readStatus(bufio.NewReaderSize(strings.NewReader(tc.in), statusLineMax))
		if code != tc.code || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%.40q: %d, %v; want %d, %q", tc.in, code, err, tc.code, tc.err)
		}
	}
}

// The answer is the server's, so anything may come: readStatus returns a code of three digits
// or an error, and never reads past its bound.
func FuzzReadStatus(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\n", "HTTP/1.0 404\n", "HTTP/1.1 -99 x\r\n", "\r\n", "HTTP/1.1 1e2 x\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		code, err := readStatus(bufio.NewReaderSize(strings.NewReader(string(in)), statusLineMax))
		if err == nil && (code < 100 || code > 999) {
			t.Fatalf("%q: code %d", in, code)
		}
	})
}

// What the check sends: one GET of the path and query with Host, and Connection: close, that a
// real HTTP server (net/http's) parses as such.
func TestHTTPCheckRequest(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	code, err := httpStatus(context.Background(), srv.URL+"/wiki/Main_Page?action=raw")
	if err != nil || code != http.StatusTeapot {
		t.Fatalf("%d, %v", code, err)
	}
	r := <-got
	if r.Method != "GET" || r.URL.RequestURI() != "/wiki/Main_Page?action=raw" || r.Host != strings.TrimPrefix(srv.URL, "http://") ||
		!r.Close || r.UserAgent() != userAgent || r.Proto != "HTTP/1.1" {
		t.Errorf("request: %s %s %s Host=%s Close=%v UA=%q", r.Method, r.URL.RequestURI(), r.Proto, r.Host, r.Close, r.UserAgent())
	}
}

// A server that accepts and never answers, or answers with something else than HTTP, fails
// the check within its timeout with words that say so.
func TestHTTPCheckBadServers(t *testing.T) {
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	ssh, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ssh.Close()
	go func() {
		for {
			c, err := ssh.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			c.Close()
		}
	}()
	to := config.Duration{Duration: 300 * time.Millisecond}
	for _, tc := range []struct{ url, want string }{
		{"http://" + silent.Addr().String() + "/", "no answer within 300ms"},
		{"http://" + ssh.Addr().String() + "/", `not an HTTP/1 status line: "SSH-2.0-OpenSSH_9.2"`},
	} {
		start := time.Now()
		ok, out := run(context.Background(), config.Check{HTTP: tc.url, Status: []int{200}, Timeout: to})
		if ok || out != tc.want || time.Since(start) > 5*time.Second {
			t.Errorf("%s: %v %q after %s, want %q", tc.url, ok, out, time.Since(start), tc.want)
		}
	}
}

// An https:// check runs the image's curl, which checks the certificate: a self-signed one
// fails with curl's own words. (A server with a certificate the machine trusts cannot be had
// in a unit test: curl runs with the check's environment, which names no CA file.)
func TestHTTPSCheckRunsCurl(t *testing.T) {
	if _, err := findCurl("/"); err != nil {
		t.Fatalf("this test needs curl on the machine (.ci/run installs it): %v", err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ok, out := run(context.Background(), config.Check{HTTP: srv.URL + "/", Status: []int{200}, Timeout: config.Duration{Duration: 5 * time.Second}})
	if ok || !strings.Contains(out, "curl: (60)") || !strings.Contains(out, "certificate") {
		t.Errorf("self-signed: %v %q, want curl's certificate error (60)", ok, out)
	}
	ok, out = run(context.Background(), config.Check{HTTP: "https://127.0.0.1:1/", Status: []int{200}, Timeout: config.Duration{Duration: 5 * time.Second}})
	if ok || !strings.Contains(out, "curl: (7)") {
		t.Errorf("nothing listening: %v %q, want curl's connect error (7)", ok, out)
	}
}

// prepare refuses an https:// check in an image without curl, naming the check's line and
// the fix; with curl (or only http:// checks) there is nothing to say.
func TestCheckImage(t *testing.T) {
	cfg, rep := config.Parse("appagent.yaml", []byte("volume:\n  path: /data\nchecks:\n  - {name: web, http: \"http://127.0.0.1/\"}\n  - {name: tls, http: \"https://127.0.0.1/\"}\n"))
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	err := CheckImage(root, cfg).Err()
	if err == nil || !strings.Contains(err.Error(), "appagent.yaml:5:") || !strings.Contains(err.Error(), "checks[1] (tls).http") ||
		!strings.Contains(err.Error(), "apt-get install curl") || strings.Contains(err.Error(), "(web)") {
		t.Errorf("without curl: %v", err)
	}
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/curl"), []byte("#!/bin/sh\n"), 0o755)
	if err := CheckImage(root, cfg).Err(); err != nil {
		t.Errorf("with curl: %v", err)
	}
}
