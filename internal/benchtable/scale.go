package benchtable

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// ScaleGoal bounds how much a ratio may grow from the 1× tree to the large one (issue 15:
// within 10%).
const ScaleGoal = 1.10

// WriteScale prints, for every row with a ratio measured at both scales, the ratio at each
// and how much it grew (large/base). Rows that ran at one scale only are left out; none at
// all is said.
func WriteScale(w io.Writer, base, large map[string]map[string]float64, baseScale, largeScale int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "BENCHMARK\tCOMPARES\tRATIO %d×\tRATIO %d×\tGROWTH\tGOAL\t\n", baseScale, largeScale)
	n := 0
	for _, r := range Rows {
		if r.Ratio == "" {
			continue
		}
		a, okA := base[r.Benchmark][r.Ratio]
		b, okB := large[r.Benchmark][r.Ratio]
		if !okA || !okB || a == 0 {
			continue
		}
		n++
		// A ratio where lower is better may grow by the goal; one where higher is better may
		// shrink by it.
		growth := b / a
		met := growth <= ScaleGoal
		bound := fmt.Sprintf("≤ %s", num(ScaleGoal))
		if !r.Lower {
			met = growth >= 1/ScaleGoal
			bound = fmt.Sprintf("≥ %s", num(1/ScaleGoal))
		}
		verdict := bound + " met"
		if !met {
			verdict = bound + " MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Benchmark, r.What, num(a), num(b), num(growth), verdict)
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(w, "no benchmark ran at both scales")
	}
}
