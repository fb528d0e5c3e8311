package diff

import (
	"fmt"
	"io"
	"strings"
)

var kindLetter = map[Kind]string{Added: "A", Changed: "C", Deleted: "D"}

// WriteText prints the report for people: one line per change (A added, C changed, D deleted,
// a trailing / for directories), then the suggested volume paths.
func (r *Report) WriteText(w io.Writer, volume, configFile string) {
	if r.Empty() {
		fmt.Fprintf(w, "nothing was written outside the volume %s (%d entries compared with the image in %s)\n",
			volume, r.Walked, r.Elapsed)
		r.writeErrors(w)
		return
	}
	fmt.Fprintf(w, "%d paths outside the volume %s differ from the image (%d added, %d changed, %d deleted; %d entries compared in %s).\n",
		len(r.Changes), volume, r.Count(Added), r.Count(Changed), r.Count(Deleted), r.Walked, r.Elapsed)
	fmt.Fprintln(w, "They are lost when the container is re-created:")
	for _, c := range r.Changes {
		p := c.Path
		if c.Type == Dir {
			p += "/"
		}
		var extra []string
		if len(c.What) > 0 {
			extra = append(extra, strings.Join(c.What, ", "))
		}
		switch {
		case c.Below == 1:
			extra = append(extra, "1 entry below")
		case c.Below > 1:
			extra = append(extra, fmt.Sprintf("%d entries below", c.Below))
		}
		if len(extra) > 0 {
			fmt.Fprintf(w, "  %s %s  (%s)\n", kindLetter[c.Kind], p, strings.Join(extra, "; "))
		} else {
			fmt.Fprintf(w, "  %s %s\n", kindLetter[c.Kind], p)
		}
	}
	if len(r.Suggest) > 0 {
		fmt.Fprintf(w, "\nTo keep them, add these paths to volume.paths in %s and rebuild the image:\n", configFile)
		for _, s := range r.Suggest {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	if len(r.Suggest) < len(r.Changes) && hasBroad(r.Changes) {
		fmt.Fprintln(w, "\nA directory the image itself needs (like /etc) changed its own mode, owner or type: the volume")
		fmt.Fprintln(w, "cannot keep that; make the change in the image (Containerfile) or find what makes it at run time.")
	}
	fmt.Fprintln(w, "If a path is temporary by nature, list it under diff.ignore instead.")
	r.writeErrors(w)
}

func (r *Report) writeErrors(w io.Writer) {
	if len(r.Errors) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d paths could not be read (not compared):\n", len(r.Errors))
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

// hasBroad tells whether a change is to a broad directory itself, which Suggest leaves out.
func hasBroad(cs []Change) bool {
	for _, c := range cs {
		if broad[c.Path] && c.Kind != Added {
			return true
		}
	}
	return false
}
