// Package checks runs the application checks the declaration lists (a command, an HTTP URL, a
// TCP port) on their intervals inside the agent, and publishes their results in one file that
// `appagent status` reads, so that ready means "the application answers", not only "its units
// run", and a probe costs a file read instead of a check run.
//
// It decides each check's state (pending, passing, failing) and runs the check hook on
// transitions; what a failing check makes the container (degraded or failed) is health's
// decision, from the on_fail the result carries.
package checks
