package logfwd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ExportReader parses the journal export format (journalctl -o export; see systemd's
// JOURNAL_EXPORT_FORMATS): entries are groups of fields separated by an empty line; a field is
// either "NAME=value\n" or, for values with control characters or non-UTF-8 bytes,
// "NAME\n" + 64-bit little-endian length + the raw bytes + "\n". So the format is binary-safe.
type ExportReader struct {
	r   *bufio.Reader
	b   entryBuilder
	buf []byte
}

// maxField bounds a binary field the parser will hold; longer fields are skipped (MESSAGE is
// cut to MaxMessage in any case).
const maxField = 1 << 20

// NewExportReader reads export-format entries from r.
func NewExportReader(r io.Reader) *ExportReader {
	return &ExportReader{r: bufio.NewReaderSize(r, 256<<10), b: entryBuilder{intern: interner{}}}
}

// Reset makes x read from r, keeping its buffers and the interned names.
func (x *ExportReader) Reset(r io.Reader) {
	x.r.Reset(r)
}

// ErrExportSyntax marks input that is not in the export format.
var ErrExportSyntax = errors.New("journal export format")

// Next returns the next entry, io.EOF at a clean end of input, or an error wrapping
// ErrExportSyntax for malformed input.
func (x *ExportReader) Next() (Entry, error) {
	x.b.reset()
	fields := 0
	for {
		line, err := x.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A text field longer than the buffer: collect it.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = x.r.ReadSlice('\n')
				if len(long) < maxField+64 {
					long = append(long, line...)
				}
			}
			line = long
		}
		if err != nil {
			if err == io.EOF {
				if len(line) > 0 {
					return Entry{}, fmt.Errorf("%w: input ends inside a field", ErrExportSyntax)
				}
				if fields > 0 {
					return x.b.build(), nil
				}
				return Entry{}, io.EOF
			}
			return Entry{}, err
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			if fields == 0 {
				continue // tolerate extra separators
			}
			return x.b.build(), nil
		}
		fields++
		if i := bytes.IndexByte(line, '='); i >= 0 {
			x.b.set(string(line[:i]), line[i+1:])
			continue
		}
		// Binary field: NAME\n<le64 size><data>\n
		name := string(line)
		var size [8]byte
		if _, err := io.ReadFull(x.r, size[:]); err != nil {
			return Entry{}, fmt.Errorf("%w: field %q: size: %v", ErrExportSyntax, name, err)
		}
		n := binary.LittleEndian.Uint64(size[:])
		if n > maxField {
			if _, err := io.CopyN(io.Discard, x.r, int64(min(n, 1<<62))); err != nil {
				return Entry{}, fmt.Errorf("%w: field %q: %v", ErrExportSyntax, name, err)
			}
			if name == "MESSAGE" {
				x.b.set(name, nil)
				x.b.e.Truncated = int(min(n, 1<<40))
			}
		} else {
			if cap(x.buf) < int(n) {
				x.buf = make([]byte, n)
			}
			data := x.buf[:n]
			if _, err := io.ReadFull(x.r, data); err != nil {
				return Entry{}, fmt.Errorf("%w: field %q: %v", ErrExportSyntax, name, err)
			}
			x.b.set(name, data)
		}
		nl, err := x.r.ReadByte()
		if err != nil || nl != '\n' {
			return Entry{}, fmt.Errorf("%w: field %q: no newline after %d bytes of data", ErrExportSyntax, name, n)
		}
	}
}

// exportField appends one field in the export format's binary form: NAME\n <le64 length>
// data \n (any bytes; the sdjournal reader writes every field so).
func exportField(dst []byte, name string, v []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, '\n')
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(v)))
	dst = append(dst, v...)
	return append(dst, '\n')
}
