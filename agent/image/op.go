package image

import (
	"fmt"
	"io"
	"time"
)

// op logs a named step as [started] / [finished] / [failed], so a long build shows where it is
// and a failure names the step it happened in.
func op(w io.Writer, name string, f func() error) error {
	fmt.Fprintf(w, "[started]  %s\n", name)
	start := time.Now()
	if err := f(); err != nil {
		fmt.Fprintf(w, "[failed]   %s: %v\n", name, err)
		return err
	}
	fmt.Fprintf(w, "[finished] %s (%s)\n", name, time.Since(start).Round(time.Millisecond))
	return nil
}
