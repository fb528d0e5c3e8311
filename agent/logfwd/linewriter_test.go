package logfwd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLineWriterJSON(t *testing.T) {
	var out bytes.Buffer
	lw := NewLineWriter(&out, JSON{}, "appagent-init")
	lw.now = func() time.Time { return time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC) }
	// Writes split lines at odd places; a message with a control character; a partial line.
	for _, chunk := range []string{"populating the vol", "ume /data\nwarn", "ing: \x1b[31m x\n", "tail without newline"} {
		if _, err := lw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := lw.Entry(3, []byte("2 problems found:\n  a\n  b")); err != nil {
		t.Fatal(err)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []struct {
		msg  string
		prio int
	}{
		{"populating the volume /data", 6},
		{"warning: \x1b[31m x", 6},
		{"2 problems found:\n  a\n  b", 3},
		{"tail without newline", 6},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		var v struct {
			Time       time.Time `json:"time"`
			Identifier string    `json:"identifier"`
			Priority   int       `json:"priority"`
			Message    string    `json:"message"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", i+1, err, l)
		}
		if v.Message != want[i].msg || v.Priority != want[i].prio || v.Identifier != "appagent-init" || v.Time.IsZero() {
			t.Errorf("line %d = %+v, want message %q priority %d", i+1, v, want[i].msg, want[i].prio)
		}
	}
}
