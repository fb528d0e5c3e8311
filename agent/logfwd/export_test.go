package logfwd

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

func exportEntry(cursor string, us int64, msg string, extra ...[2]string) [][2]string {
	f := [][2]string{{"__CURSOR", cursor}, {"__REALTIME_TIMESTAMP", strconv.FormatInt(us, 10)}, {"MESSAGE", msg}}
	return append(f, extra...)
}

func TestExportReader(t *testing.T) {
	var in []byte
	in = AppendExport(in, exportEntry("s=1", 1764083045123456, "hello", [2]string{"_SYSTEMD_UNIT", "web.service"},
		[2]string{"SYSLOG_IDENTIFIER", "web"}, [2]string{"_PID", "42"}, [2]string{"PRIORITY", "4"}))
	in = AppendExport(in, exportEntry("s=2", 1764083045123457, "bin\x00ary\x1b\nline\xff", [2]string{"_PID", "1"},
		[2]string{"_SYSTEMD_UNIT", "init.scope"}, [2]string{"UNIT", "web.service"}, [2]string{"SYSLOG_IDENTIFIER", "systemd"}))
	in = AppendExport(in, exportEntry("s=3", 1764083045123458, "no identifier", [2]string{"_COMM", "sh"}))
	x := NewExportReader(bytes.NewReader(in))
	want := []Entry{
		{Cursor: "s=1", Unit: "web.service", Identifier: "web", PID: 42, Priority: 4, Message: []byte("hello")},
		{Cursor: "s=2", Unit: "web.service", Identifier: "systemd", PID: 1, Priority: 6, Message: []byte("bin\x00ary\x1b\nline\xff")},
		{Cursor: "s=3", Identifier: "sh", Priority: 6, Message: []byte("no identifier")},
	}
	for i, w := range want {
		e, err := x.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if e.Cursor != w.Cursor || e.Unit != w.Unit || e.Identifier != w.Identifier || e.PID != w.PID ||
			e.Priority != w.Priority || !bytes.Equal(e.Message, w.Message) || e.Time.UnixMicro() != 1764083045123456+int64(i) {
			t.Errorf("entry %d: got %+v, want %+v", i, e, w)
		}
	}
	if _, err := x.Next(); err != io.EOF {
		t.Fatalf("after the last entry: %v, want io.EOF", err)
	}
}

func TestExportReaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"cut in size":       "MESSAGE\n\x05\x00",
		"cut in data":       "MESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00ab",
		"no newline":        "MESSAGE\n\x02\x00\x00\x00\x00\x00\x00\x00abX",
		"cut in text field": "MESSAGE=abc",
	} {
		_, err := NewExportReader(strings.NewReader(in)).Next()
		if !errors.Is(err, ErrExportSyntax) {
			t.Errorf("%s: got %v, want ErrExportSyntax", name, err)
		}
	}
}

func TestExportReaderLongMessage(t *testing.T) {
	long := strings.Repeat("x", MaxMessage+500)
	in := AppendExport(nil, exportEntry("s=1", 1, long))
	in = AppendExport(in, exportEntry("s=2", 2, "\x00"+long))
	x := NewExportReader(bytes.NewReader(in))
	for i := 0; i < 2; i++ {
		e, err := x.Next()
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Message) != MaxMessage || e.Truncated != 500+i {
			t.Errorf("entry %d: %d bytes kept, %d cut; want %d and %d", i, len(e.Message), e.Truncated, MaxMessage, 500+i)
		}
	}
}

func FuzzExportReader(f *testing.F) {
	f.Add(AppendExport(nil, exportEntry("s=1", 5, "hello\x00", [2]string{"_PID", "3"})))
	f.Add([]byte("MESSAGE\n\x03\x00\x00\x00\x00\x00\x00\x00a\nb\n\n"))
	f.Add([]byte("\n\n__CURSOR=x\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		x := NewExportReader(bytes.NewReader(in))
		for i := 0; i < 1000; i++ {
			e, err := x.Next()
			if err != nil {
				return
			}
			// Whatever was parsed survives a round trip through the writer.
			fields := [][2]string{{"__CURSOR", e.Cursor}, {"MESSAGE", string(e.Message)}, {"_PID", strconv.Itoa(e.PID)},
				{"PRIORITY", strconv.Itoa(e.Priority)}, {"SYSLOG_IDENTIFIER", e.Identifier}}
			back, err := NewExportReader(bytes.NewReader(AppendExport(nil, fields))).Next()
			if err != nil {
				t.Fatalf("round trip of %+v: %v", e, err)
			}
			if back.Cursor != e.Cursor || !bytes.Equal(back.Message, e.Message) || back.Priority != e.Priority || back.Identifier != e.Identifier {
				t.Fatalf("round trip changed %+v into %+v", e, back)
			}
			_ = Short{}.Append(nil, &e)
		}
	})
}

func TestExportReaderTruncatedField(t *testing.T) {
	// The sdjournal reader cuts long fields and says how much it left out.
	in := AppendExport(nil, [][2]string{{"__CURSOR", "s=1"}, {"__TRUNCATED", "1234"}, {"MESSAGE", "head\x00"}})
	e, err := NewExportReader(bytes.NewReader(in)).Next()
	if err != nil || e.Truncated != 1234 || string(e.Message) != "head\x00" {
		t.Fatalf("got %+v, %v", e, err)
	}
}

// AppendExport writes fields in the export format; values that are not plain text use the
// binary form. It is the inverse of ExportReader, for tests and benchmarks.
func AppendExport(dst []byte, fields [][2]string) []byte {
	for _, f := range fields {
		if isPlainExportValue(f[1]) {
			dst = append(dst, f[0]...)
			dst = append(dst, '=')
			dst = append(dst, f[1]...)
			dst = append(dst, '\n')
			continue
		}
		dst = exportField(dst, f[0], []byte(f[1]))
	}
	return append(dst, '\n')
}

func isPlainExportValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 && s[i] != '\t' || s[i] == 0x7f {
			return false
		}
	}
	return true
}
