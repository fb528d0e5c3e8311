// Package exitcode is the one table of the exit codes appagent and its containers use.
//
// Every command and the agent map their errors to these codes; docs/exit-codes.md is generated
// from the same table so the documentation cannot drift from the code.
package exitcode
