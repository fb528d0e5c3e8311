package logfwd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Source yields journal entries in order. Next blocks until an entry is there or ctx is done
// (then it returns ctx's error); Cursor is the cursor of the last entry Next returned.
type Source interface {
	Next(ctx context.Context) (Entry, error)
	Cursor() string
	Close() error
}

// SourceOptions say where reading starts.
type SourceOptions struct {
	// AfterCursor resumes after this entry. When the entry is gone (rotated away while the
	// agent was down), reading resumes at the oldest entry after it and OnGap is called.
	AfterCursor string
	// Since starts at the first entry at or after this time (when AfterCursor is empty).
	// The zero time means the current end of the journal.
	Since time.Time
	// Directory reads the journal files in this directory instead of the system journal
	// (tests and benchmarks).
	Directory string
	// Journalctl is the journalctl binary for the journalctl source (default "journalctl").
	Journalctl string
	// OnGap is told when AfterCursor could not be found.
	OnGap func(cursor string)
}

// sdjournalOpen is the native reader (sdjournal_purego.go); nil: journalctl only.
var sdjournalOpen func(o SourceOptions) (Source, error)

// OpenSource opens the best source this build has: sdjournal when it was built with cgo and
// libsystemd can be loaded, journalctl otherwise. name says which one.
func OpenSource(o SourceOptions) (src Source, name string, err error) {
	if sdjournalOpen != nil {
		s, err := sdjournalOpen(o)
		if err == nil {
			return s, "sdjournal", nil
		}
		j, jerr := OpenJournalctl(o)
		if jerr != nil {
			return nil, "", errors.Join(fmt.Errorf("sdjournal: %w", err), jerr)
		}
		return j, "journalctl (sdjournal: " + err.Error() + ")", nil
	}
	j, err := OpenJournalctl(o)
	if err != nil {
		return nil, "", err
	}
	return j, "journalctl", nil
}

// entryOrErr carries one result from a source's reading goroutine.
type entryOrErr struct {
	e   Entry
	err error
}
