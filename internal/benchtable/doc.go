// Package benchtable is the summary `make bench` ends with: it reads `go test -bench` output
// and prints one table (benchmark, appagent, baseline, ratio, goal) from the metrics each
// benchmark reports against its baseline measured in the same run. Not here: the
// measurements themselves (each package's benchmarks) or timed assertions (there are none:
// a goal missed is printed, not failed).
package benchtable
