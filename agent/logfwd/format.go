package logfwd

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/appagent/appagent/agent/config"
)

// Format turns an entry into output bytes: one or more complete lines, each ending in "\n".
type Format interface {
	Append(dst []byte, e *Entry) []byte
}

// ParseFormat returns the format named short or json.
func ParseFormat(name string) (Format, error) {
	n, err := config.ParseLogFormat(name)
	if err != nil {
		return nil, err
	}
	if n == "json" {
		return JSON{}, nil
	}
	return Short{}, nil
}

// Short is the human format, one line per message line:
//
//	2026-11-25T15:04:05.123Z mariadb/mariadbd[123]: ready for connections
//	2026-11-25T15:04:05.124Z app[77]: Traceback (most recent call last):
//	2026-11-25T15:04:05.124Z app[77]|   File "x.py", line 3
//
// The name is the identifier (SYSLOG_IDENTIFIER or the command), prefixed with the unit's name
// when the unit is named otherwise. Continuation lines of a multi-line message repeat the
// head with "|" instead of ":". Control characters, C1 controls and bytes that are not UTF-8
// are written as \xHH (\u0080..\u009f for C1), so no message can move the cursor of a
// terminal or break the line structure. Time is UTC with milliseconds.
type Short struct{}

// JSON is one JSON object per entry:
//
//	{"time":"2026-11-25T15:04:05.123456Z","unit":"mariadb.service","identifier":"mariadbd","pid":123,"priority":6,"message":"ready"}
//
// A message that is not valid UTF-8 has its invalid bytes replaced by U+FFFD in "message" and
// the exact bytes in "message_base64". A cut message has "truncated": <bytes not shown>.
type JSON struct{}

const hexDigits = "0123456789abcdef"

// Append implements Format.
func (Short) Append(dst []byte, e *Entry) []byte {
	msg := e.Message
	// A trailing newline (common for native and syslog messages) is not a second line.
	for len(msg) > 0 && (msg[len(msg)-1] == '\n') {
		msg = msg[:len(msg)-1]
	}
	headStart := len(dst)
	dst = e.Time.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, ' ')
	dst = appendName(dst, e)
	if e.PID > 0 {
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(e.PID), 10)
		dst = append(dst, ']')
	}
	headEnd := len(dst)
	dst = append(dst, ':', ' ')
	first := true
	for {
		i := indexByte(msg, '\n')
		line := msg
		if i >= 0 {
			line = msg[:i]
		}
		if !first {
			// Repeat the head; dst may have grown, so copy from its own earlier bytes.
			dst = append(dst, dst[headStart:headEnd]...)
			dst = append(dst, '|', ' ')
		}
		first = false
		dst = appendEscaped(dst, line)
		if i < 0 {
			break
		}
		msg = msg[i+1:]
		dst = append(dst, '\n')
	}
	if e.Truncated > 0 {
		dst = append(dst, " [appagent: "...)
		dst = strconv.AppendInt(dst, int64(e.Truncated), 10)
		dst = append(dst, " more bytes not shown]"...)
	}
	return append(dst, '\n')
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// appendName writes "unit/identifier", "identifier" or "unit" with escaping.
func appendName(dst []byte, e *Entry) []byte {
	unit := strings.TrimSuffix(e.Unit, ".service")
	id := e.Identifier
	switch {
	case id == "" && unit == "":
		return append(dst, '-')
	case id == "":
		return appendEscaped(dst, []byte(unit))
	case unit == "" || unit == id || e.PID == 1 || e.Unit == "init.scope":
		return appendEscaped(dst, []byte(id))
	}
	dst = appendEscaped(dst, []byte(unit))
	dst = append(dst, '/')
	return appendEscaped(dst, []byte(id))
}

// appendEscaped copies s, escaping what a terminal or a line-based reader would act on.
func appendEscaped(dst []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			// Fast path: printable ASCII.
			j := i + 1
			for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if c == '\t' {
			dst = append(dst, c)
			i++
			continue
		}
		if c < 0x80 { // C0 controls and DEL
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			i++
		case r >= 0x80 && r <= 0x9f:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&15])
			i += size
		default:
			dst = append(dst, s[i:i+size]...)
			i += size
		}
	}
	return dst
}

// Append implements Format.
func (JSON) Append(dst []byte, e *Entry) []byte {
	dst = append(dst, `{"time":"`...)
	dst = e.Time.AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
	dst = append(dst, `","unit":`...)
	dst = appendJSONString(dst, []byte(e.Unit))
	dst = append(dst, `,"identifier":`...)
	dst = appendJSONString(dst, []byte(e.Identifier))
	dst = append(dst, `,"pid":`...)
	dst = strconv.AppendInt(dst, int64(e.PID), 10)
	dst = append(dst, `,"priority":`...)
	dst = strconv.AppendInt(dst, int64(e.Priority), 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, e.Message)
	if !utf8.Valid(e.Message) {
		dst = append(dst, `,"message_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, e.Message)
		dst = append(dst, '"')
	}
	if e.Truncated > 0 {
		dst = append(dst, `,"truncated":`...)
		dst = strconv.AppendInt(dst, int64(e.Truncated), 10)
	}
	return append(dst, '}', '\n')
}

// appendJSONString writes s as a JSON string: control characters escaped, invalid UTF-8
// replaced by U+FFFD, and U+2028/U+2029 escaped for JavaScript readers.
func appendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			dst = append(dst, `\ufffd`...)
		case r == 0x2028 || r == 0x2029 || (r >= 0x80 && r <= 0x9f):
			dst = append(dst, '\\', 'u')
			dst = append(dst, hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
