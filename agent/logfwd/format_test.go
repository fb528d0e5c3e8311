package logfwd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/appagent/appagent/internal/goldenfile"
)

var t0 = time.Date(2026, 11, 25, 15, 4, 5, 123456000, time.UTC)

// formatCases are the formatter's golden inputs: each becomes a line in testdata/*.golden.
var formatCases = []struct {
	name string
	e    Entry
}{
	{"plain", Entry{Time: t0, Unit: "mariadb.service", Identifier: "mariadbd", PID: 123, Priority: 6, Message: []byte("ready for connections")}},
	{"unit equals identifier", Entry{Time: t0, Unit: "cron.service", Identifier: "cron", PID: 45, Priority: 6, Message: []byte("(root) CMD (backup)")}},
	{"systemd about a unit", Entry{Time: t0, Unit: "web.service", Identifier: "systemd", PID: 1, Priority: 3, Message: []byte("web.service: Main process exited, code=exited, status=1/FAILURE")}},
	{"no unit", Entry{Time: t0, Identifier: "kernel", Priority: 5, Message: []byte("hello")}},
	{"nothing known", Entry{Time: t0, Priority: 6, Message: []byte("anonymous")}},
	{"multi-line", Entry{Time: t0, Unit: "app.service", Identifier: "python3", PID: 77, Priority: 3, Message: []byte("Traceback (most recent call last):\n  File \"x.py\", line 3\nValueError: bad\n")}},
	{"escape sequences", Entry{Time: t0, Unit: "app.service", Identifier: "app", PID: 7, Priority: 6, Message: []byte("\x1b[31mred\x1b[0m\tbell\a cr\r del\x7f nul\x00")}},
	{"invalid utf-8", Entry{Time: t0, Unit: "app.service", Identifier: "app", PID: 7, Priority: 6, Message: []byte("bytes \xff\xfe ok é \xc3 end")}},
	{"c1 control", Entry{Time: t0, Unit: "app.service", Identifier: "app", PID: 7, Priority: 6, Message: []byte("csi \u009b2J")}},
	{"quotes and backslash", Entry{Time: t0, Unit: "app.service", Identifier: "app", PID: 7, Priority: 6, Message: []byte(`say "hi" C:\dir`)}},
	{"truncated", Entry{Time: t0, Unit: "app.service", Identifier: "app", PID: 7, Priority: 6, Message: []byte("start of a long message"), Truncated: 1000}},
	{"hostile identifier", Entry{Time: t0, Unit: "x\n.service", Identifier: "id\x1b]0;pwned\a", PID: 9, Priority: 6, Message: []byte("m")}},
	{"empty message", Entry{Time: t0, Unit: "app.service", Identifier: "app", PID: 7, Priority: 6}},
}

func TestFormatGolden(t *testing.T) {
	for _, f := range []struct {
		file string
		f    Format
	}{{"short.golden", Short{}}, {"json.golden", JSON{}}} {
		var out []byte
		for _, c := range formatCases {
			out = append(out, "# "+c.name+"\n"...)
			out = f.f.Append(out, &c.e)
		}
		goldenfile.Check(t, f.file, out)
	}
}

// checkLines asserts the properties every output must have: complete, valid UTF-8 lines
// without control characters other than tab.
func checkLines(t *testing.T, out []byte) {
	t.Helper()
	if len(out) == 0 || out[len(out)-1] != '\n' {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	if !utf8.Valid(out) {
		t.Fatalf("output is not valid UTF-8: %q", out)
	}
	for _, line := range bytes.Split(out[:len(out)-1], []byte("\n")) {
		for _, r := range string(line) {
			if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("control character %U in line %q", r, line)
			}
		}
	}
}

func TestShortLinesPerMessage(t *testing.T) {
	e := Entry{Time: t0, Unit: "a.service", Identifier: "a", PID: 1, Message: []byte("one\ntwo\n\nfour\n")}
	out := Short{}.Append(nil, &e)
	checkLines(t, out)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines (trailing newline dropped, empty line kept), got %d: %q", len(lines), lines)
	}
	if !strings.Contains(lines[0], "a[1]: one") || !strings.Contains(lines[1], "a[1]| two") || !strings.HasSuffix(lines[2], "a[1]| ") {
		t.Fatalf("continuation lines not marked: %q", lines)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, c := range formatCases {
		out := JSON{}.Append(nil, &c.e)
		checkLines(t, out)
		if bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("%s: json is not one line: %q", c.name, out)
		}
		var v struct {
			Time       time.Time
			Unit       string
			Identifier string
			PID        int
			Priority   int
			Message    string
			B64        string `json:"message_base64"`
			Truncated  int
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%s: %v: %s", c.name, err, out)
		}
		if !v.Time.Equal(c.e.Time) || v.Unit != strings.ToValidUTF8(c.e.Unit, "\ufffd") || v.PID != c.e.PID || v.Priority != c.e.Priority || v.Truncated != c.e.Truncated {
			t.Errorf("%s: fields differ: %+v", c.name, v)
		}
		msg := []byte(v.Message)
		if v.B64 != "" {
			msg, _ = base64.StdEncoding.DecodeString(v.B64)
		}
		if !bytes.Equal(msg, c.e.Message) && !(len(msg) == 0 && len(c.e.Message) == 0) {
			t.Errorf("%s: message %q, want %q", c.name, msg, c.e.Message)
		}
	}
}

func FuzzFormat(f *testing.F) {
	for _, c := range formatCases {
		f.Add(c.e.Message, c.e.Identifier, c.e.Unit)
	}
	f.Fuzz(func(t *testing.T, msg []byte, id, unit string) {
		e := Entry{Time: t0, Unit: unit, Identifier: id, PID: 3, Priority: 6, Message: msg}
		short := Short{}.Append(nil, &e)
		checkLines(t, short)
		trimmed := bytes.TrimRight(msg, "\n")
		if want := bytes.Count(trimmed, []byte("\n")) + 1; bytes.Count(short, []byte("\n")) != want {
			t.Fatalf("short: %d lines for a message of %d lines: %q", bytes.Count(short, []byte("\n")), want, short)
		}
		js := JSON{}.Append(nil, &e)
		checkLines(t, js)
		var v map[string]any
		if err := json.Unmarshal(js, &v); err != nil {
			t.Fatalf("json: %v: %q", err, js)
		}
		got := []byte(v["message"].(string))
		if b, ok := v["message_base64"].(string); ok {
			got, _ = base64.StdEncoding.DecodeString(b)
		}
		if !bytes.Equal(got, msg) && !(len(got) == 0 && len(msg) == 0) {
			t.Fatalf("json lost the message: %q -> %q", msg, got)
		}
	})
}
