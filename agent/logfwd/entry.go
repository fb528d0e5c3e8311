package logfwd

import (
	"strconv"
	"time"
)

// Entry is one journal entry, reduced to the fields the forwarder prints.
type Entry struct {
	// Cursor is the journal's position of this entry (resume after it).
	Cursor string
	// Time is the journal's reception time (__REALTIME_TIMESTAMP).
	Time time.Time
	// Unit is the unit the entry belongs to (_SYSTEMD_UNIT) or, for systemd's own messages
	// about a unit ("Started", "Failed", exit status), the unit it is about (UNIT=).
	Unit string
	// Identifier is SYSLOG_IDENTIFIER, else _COMM.
	Identifier string
	// PID is _PID (0 when unknown).
	PID int
	// Priority is the syslog priority 0 (emerg) .. 7 (debug); 6 (info) when the entry has none.
	Priority int
	// Message is MESSAGE as stored: any bytes, possibly several lines.
	Message []byte
	// Truncated counts bytes of MESSAGE that were cut off (see MaxMessage).
	Truncated int
}

// MaxMessage bounds one message's bytes held in memory; longer messages are cut and the line
// says how many bytes were not shown. journald itself cuts stream lines at 48 KiB (LineMax=).
const MaxMessage = 64 << 10

// fieldsWanted are the journal fields an Entry is made of (besides cursor and time).
var fieldsWanted = []string{"MESSAGE", "PRIORITY", "_SYSTEMD_UNIT", "UNIT", "SYSLOG_IDENTIFIER", "_COMM", "_PID"}

// interner returns one string per distinct value of the fields that repeat (unit and
// identifier names), so that an entry costs no allocation for them. It is bounded: past
// maxInterned values it stops remembering new ones.
type interner map[string]string

const maxInterned = 4096

func (in interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(in) < maxInterned {
		in[s] = s
	}
	return s
}

// entryBuilder collects fields of one entry in any order and builds the Entry.
type entryBuilder struct {
	intern        interner
	e             Entry
	systemdUnit   string
	aboutUnit     string
	comm          string
	havePriority  bool
	realtimeValid bool
}

func (b *entryBuilder) reset() {
	*b = entryBuilder{intern: b.intern}
}

// set records one field; value may alias a buffer that is reused, so strings are copied and
// the message is copied into a fresh slice.
func (b *entryBuilder) set(name string, value []byte) {
	switch name {
	case "__CURSOR":
		b.e.Cursor = string(value)
	case "__REALTIME_TIMESTAMP":
		if us, err := strconv.ParseInt(string(value), 10, 64); err == nil {
			b.e.Time = time.UnixMicro(us).UTC()
			b.realtimeValid = true
		}
	case "MESSAGE":
		v := value
		if len(v) > MaxMessage {
			b.e.Truncated += len(v) - MaxMessage
			v = v[:MaxMessage]
		}
		b.e.Message = append([]byte(nil), v...)
	case "__TRUNCATED":
		// The sdjournal reader cut a field: how many bytes it left out.
		if n, err := strconv.Atoi(string(value)); err == nil && n > 0 {
			b.e.Truncated += n
		}
	case "PRIORITY":
		if p, err := strconv.Atoi(string(value)); err == nil && p >= 0 && p <= 7 {
			b.e.Priority = p
			b.havePriority = true
		}
	case "_SYSTEMD_UNIT":
		b.systemdUnit = b.intern.str(value)
	case "UNIT":
		b.aboutUnit = b.intern.str(value)
	case "SYSLOG_IDENTIFIER":
		b.e.Identifier = b.intern.str(value)
	case "_COMM":
		b.comm = b.intern.str(value)
	case "_PID":
		if p, err := strconv.Atoi(string(value)); err == nil {
			b.e.PID = p
		}
	}
}

// build finishes the entry: systemd's (PID 1's) messages about a unit are attributed to that
// unit, so that a unit filter and a reader of one unit's lines see its start and failure.
func (b *entryBuilder) build() Entry {
	e := b.e
	if !b.havePriority {
		e.Priority = 6
	}
	if e.Identifier == "" {
		e.Identifier = b.comm
	}
	e.Unit = b.systemdUnit
	if b.aboutUnit != "" && (e.PID == 1 || b.systemdUnit == "init.scope" || b.systemdUnit == "") {
		e.Unit = b.aboutUnit
	}
	return e
}
