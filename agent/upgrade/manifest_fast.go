package upgrade

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeCanonical reads a manifest laid out exactly as Marshal writes it (the image's, and
// every copy appagent recorded): its header on the first line, then one entry a line with
// its fields in Marshal's order. encoding/json took 0.13 s for the 27,000 entries of the
// wiki-shaped tree, in the serial part of a first population (issue 15); this reader takes a
// tenth of that. It accepts only what json.Decoder accepts and then yields the same
// manifest (FuzzDecodeCanonical holds both): ok is false for any other layout, escape, number
// form or field, and ParseManifest then reads the file with encoding/json, whose answer —
// a manifest or its error — stands.
func decodeCanonical(data []byte) (m Manifest, ok bool) {
	nl := bytes.IndexByte(data, '\n')
	const open = `"entries":[`
	if nl < 0 || !bytes.HasSuffix(data[:nl], []byte(open)) {
		return m, false
	}
	// The header is small: encoding/json reads it, with entries as null.
	head := append(append([]byte{}, data[:nl-len(open)]...), `"entries":null}`...)
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.DisallowUnknownFields()
	if dec.Decode(&m) != nil || dec.More() {
		return m, false
	}
	rest := data[nl+1:]
	for {
		nl = bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return m, false
		}
		line := rest[:nl]
		rest = rest[nl+1:]
		if string(line) == "]}" {
			break
		}
		last := len(rest) >= 3 && string(rest[:3]) == "]}\n"
		if !last {
			var comma bool
			if line, comma = bytes.CutSuffix(line, []byte(",")); !comma {
				return m, false
			}
		}
		e, ok := decodeEntryLine(line)
		if !ok {
			return m, false
		}
		m.Entries = append(m.Entries, e)
		if last {
			rest = rest[3:]
			break
		}
	}
	if m.Entries == nil {
		m.Entries = []Entry{} // "entries":[] decodes to an empty, non-nil slice
	}
	return m, len(rest) == 0
}

// decodeEntryLine reads one entry as json.Marshal(Entry) writes it.
func decodeEntryLine(b []byte) (e Entry, ok bool) {
	r := lineReader{b: b}
	r.lit(`{"path":`)
	e.Path = r.str()
	r.lit(`,"type":`)
	e.Type = r.str()
	r.lit(`,"mode":`)
	e.Mode = uint32(r.uint(32))
	r.lit(`,"uid":`)
	e.UID = int(r.int())
	r.lit(`,"gid":`)
	e.GID = int(r.int())
	if r.opt(`,"size":`) {
		e.Size = r.int()
	}
	if r.opt(`,"sha256":`) {
		e.SHA256 = r.str()
	}
	if r.opt(`,"target":`) {
		e.Target = r.str()
	}
	if r.opt(`,"link":`) {
		e.Link = r.str()
	}
	if r.opt(`,"rdev":`) {
		e.Rdev = r.uint(64)
	}
	r.lit(`}`)
	return e, !r.bad && len(r.b) == 0
}

// lineReader consumes a line; any mismatch sets bad, and every later read is a no-op.
type lineReader struct {
	b   []byte
	bad bool
}

func (r *lineReader) lit(s string) {
	if !r.opt(s) {
		r.bad = true
	}
}

func (r *lineReader) opt(s string) bool {
	if r.bad || !bytes.HasPrefix(r.b, []byte(s)) {
		return false
	}
	r.b = r.b[len(s):]
	return true
}

// str reads a string without escapes: valid UTF-8, no control character, none of the bytes
// json.Marshal escapes (< > & and the line separators U+2028, U+2029 included). Omitted
// empty strings never appear in Marshal's output, but "" is read as JSON reads it.
func (r *lineReader) str() string {
	if r.bad || len(r.b) == 0 || r.b[0] != '"' {
		r.bad = true
		return ""
	}
	for i := 1; i < len(r.b); i++ {
		switch c := r.b[i]; {
		case c == '"':
			s := r.b[1:i]
			if !utf8.Valid(s) || bytes.Contains(s, []byte("\u2028")) || bytes.Contains(s, []byte("\u2029")) {
				r.bad = true
				return ""
			}
			r.b = r.b[i+1:]
			return string(s)
		case c == '\\' || c < 0x20 || c == '<' || c == '>' || c == '&':
			r.bad = true
			return ""
		}
	}
	r.bad = true
	return ""
}

// digits reads a JSON integer's digits: no leading zero, no fraction or exponent after them.
func (r *lineReader) digits() []byte {
	n := 0
	for n < len(r.b) && r.b[n] >= '0' && r.b[n] <= '9' {
		n++
	}
	if n == 0 || (n > 1 && r.b[0] == '0') || (n < len(r.b) && (r.b[n] == '.' || r.b[n] == 'e' || r.b[n] == 'E')) {
		r.bad = true
		return nil
	}
	d := r.b[:n]
	r.b = r.b[n:]
	return d
}

func (r *lineReader) uint(bits int) uint64 {
	if r.bad {
		return 0
	}
	d := r.digits()
	if r.bad {
		return 0
	}
	v, err := strconv.ParseUint(string(d), 10, bits)
	if err != nil {
		r.bad = true
	}
	return v
}

func (r *lineReader) int() int64 {
	if r.bad {
		return 0
	}
	neg := r.opt("-")
	d := r.digits()
	if r.bad {
		return 0
	}
	s := string(d)
	if neg {
		s = "-" + s
	}
	v, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err != nil {
		r.bad = true
	}
	return v
}
