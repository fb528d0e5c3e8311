// Package environ reads the container's environment as the runtime gave it: PID 1's
// (/proc/1/environ; `appagent init` execs systemd with it unchanged), which is how
// appagent.service, doctor and status, run by systemd or by exec, learn what `-e` set. It only
// reads and parses; what a variable means belongs to the package that reads it (params,
// logfwd, preflight).
package environ
