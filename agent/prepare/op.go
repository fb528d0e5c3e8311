package prepare

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// op logs a named step as [started] / [finished] / [failed], so a long build shows where it is
// and a failure names the step it happened in. The error itself is the caller's to print
// (appagent prepare prints it on stderr); the [failed] line shows its first line only, so a
// build log, which merges both streams, does not list every problem twice.
func op(w io.Writer, name string, f func() error) error {
	fmt.Fprintf(w, "[started]  %s\n", name)
	start := time.Now()
	if err := f(); err != nil {
		msg, _, more := strings.Cut(err.Error(), "\n")
		if more {
			msg = strings.TrimSuffix(msg, ":") + " (listed below)"
		}
		fmt.Fprintf(w, "[failed]   %s: %s\n", name, msg)
		return err
	}
	fmt.Fprintf(w, "[finished] %s (%s)\n", name, time.Since(start).Round(time.Millisecond))
	return nil
}
