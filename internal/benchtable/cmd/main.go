// Command benchtable prints the summary of a `go test -bench` run read from stdin (make bench).
package main

import (
	"fmt"
	"os"

	"github.com/appagent/appagent/internal/benchtable"
)

func main() {
	results, err := benchtable.Parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	benchtable.Write(os.Stdout, results)
}
