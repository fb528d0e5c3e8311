// Package failure is `appagent report-failure`: the one line and the log lines that say
// which unit failed, how (its result, exit status and systemd's real Restart= policy), and
// with which code the container exits, written to the journal for the container's output.
//
// It asks systemd about the unit over go-systemd's D-Bus client and reads the unit's lines
// from the journal. It does not decide the unit files (agent/units generates the ExecStopPost=
// that runs it) and does not forward logs (agent/logfwd does).
package failure
