package status

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

func ts(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteTable prints the status for people.
func (st *Status) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "STATE    %s: %s\n", st.State, st.Reason)
	fmt.Fprintf(w, "SYSTEMD  %s\n", orDash(st.SystemState))
	v := st.Volume
	format := "unknown"
	if v.Format != nil {
		format = fmt.Sprint(*v.Format)
	}
	fmt.Fprintf(w, "VOLUME   %s  format %s (image writes %d)  build %s (image %s)\n", v.Path, format, v.ImageFormat,
		orDash(v.BuildID), orDash(v.ImageBuildID))
	switch {
	case !v.ReviewKnown:
		fmt.Fprintln(w, "REVIEW   unknown: an upgrade record could not be read")
	case len(v.Review) > 0:
		fmt.Fprintf(w, "REVIEW   %d file(s) from upgrades to merge by hand (then delete them):\n", len(v.Review))
		for _, r := range v.Review {
			fmt.Fprintf(w, "           %s\n", r)
		}
	}
	if len(st.Units) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "UNIT\tACTIVE\tSUB\tSINCE\tRESTARTS\tLAST RESULT")
		for _, u := range st.Units {
			name := u.Name
			if u.Essential {
				name += " *"
			}
			active := u.ActiveState
			if u.LoadState != "loaded" {
				active = u.LoadState
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s%s\n", name, orDash(active), orDash(u.SubState), ts(u.Since), u.Restarts,
				orDash(u.Result), exitText(u.ExitStatus))
		}
		tw.Flush()
		fmt.Fprintln(w, "(* essential: its failure stops the container)")
	}
	if len(st.Hooks) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "HOOK\tUNIT\tSTATE\tSINCE")
		for _, h := range st.Hooks {
			fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\n", h.Name, h.Unit, h.State, exitText(h.ExitStatus), ts(h.Since))
		}
		tw.Flush()
	}
	if len(st.Checks) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tUNIT\tSTATE\tSINCE\tLAST RUN\tOUTPUT")
		for _, c := range st.Checks {
			state := c.State
			if c.State == "failing" {
				state += " (" + c.OnFail + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, orDash(c.Unit), state, ts(c.Since), ts(c.LastRun), orDash(c.Output))
		}
		tw.Flush()
	}
	if st.Parameters != nil {
		fmt.Fprintln(w)
		if len(st.Parameters) == 0 {
			fmt.Fprintln(w, "PARAMETERS  none declared")
		} else {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PARAMETER\tSOURCE\tVALUE")
			for _, p := range st.Parameters {
				val := p.Value
				switch {
				case !p.Set:
					val = "(not set)"
				case p.Secret:
					val = "(secret, set)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, orDash(p.Source), val)
			}
			tw.Flush()
		}
	} else {
		fmt.Fprintln(w, "\nPARAMETERS  unknown: the agent has not published them (yet)")
	}
	if len(st.FailedUnits) > 0 {
		fmt.Fprintf(w, "\nFAILED UNITS  %s\n", strings.Join(st.FailedUnits, ", "))
	}
}

// Wait collects the status every interval until its state is final (ready, degraded,
// failed, stopping) or ctx ends, and returns the last status. collect must be cheap: it is
// called a few times a second.
func Wait(ctx context.Context, interval time.Duration, collect func() *Status) *Status {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st := collect()
		if st.State.Final() {
			return st
		}
		select {
		case <-ctx.Done():
			return st
		case <-t.C:
		}
	}
}
