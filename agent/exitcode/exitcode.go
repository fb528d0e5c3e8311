package exitcode

import (
	"errors"
	"fmt"
)

// Code is a process exit status with a documented meaning.
type Code int

// The codes. They are part of appagent's interface: probes, orchestrators and scripts depend
// on them, so a code is never reused for another meaning. 0-2 follow common CLI practice;
// 10 and up are container life-cycle failures (FreeIPA's container uses 13 for a failed volume
// upgrade; we keep that number for the same meaning).
const (
	OK           Code = 0  // success; for status: the container is ready
	Failure      Code = 1  // an error not covered by a more specific code
	Usage        Code = 2  // bad command line
	Config       Code = 3  // /etc/appagent/appagent.yaml (or the volume list) is invalid
	Preflight    Code = 10 // the runtime cannot run systemd here (preflight)
	Params       Code = 11 // parameters missing or invalid
	VolumeLocked Code = 12 // another container holds the volume
	Upgrade      Code = 13 // populating or upgrading the volume failed
	VolumeNewer  Code = 14 // the volume was written by a newer format or (downgrade refused) build
	Configure    Code = 15 // the configure (first boot) or reconfigure hook failed (image may declare another)
	UpgradeHook  Code = 16 // the upgrade hook failed (image may declare another)
	Essential    Code = 17 // an essential unit failed (image may declare another)
	ParamChanged Code = 18 // a parameter changed and the image refuses changes
	// VolumeForeign: the volume holds files but no appagent state, and adoption was not asked for
	VolumeForeign Code = 19
	Starting      Code = 20 // status: still starting
	Degraded      Code = 21 // status: running, but a non-essential unit failed
	Failed        Code = 22 // status: failed or stopping
	NotAvailable  Code = 23 // status: could not reach systemd or the agent
	JoinHook      Code = 24 // the join hook (a replica's first start) failed (image may declare another)
	RoleRefused   Code = 25 // the instance's role does not fit its volume (replication)
	// SystemdExited is systemd's own code when it cannot start ("Exiting PID 1"); appagent
	// never uses it, but a container that ends with it ended this way.
	SystemdExited Code = 255
)

// Entry documents one code.
type Entry struct {
	Code    Code
	Name    string
	Meaning string
}

// Table lists every code in order; docs/exit-codes.md is made from it.
var Table = []Entry{
	{OK, "ok", "success; for `status`: the container is ready"},
	{Failure, "failure", "an error not covered by a more specific code"},
	{Usage, "usage", "bad command line (unknown flag, missing argument)"},
	{Config, "config", "the image's declaration (/etc/appagent/appagent.yaml or its volume list) is invalid"},
	{Preflight, "preflight", "the container runtime cannot run systemd here; the message names the flag that fixes it"},
	{Params, "params", "parameters are missing or invalid; nothing was written"},
	{VolumeLocked, "volume-locked", "another container is using the volume"},
	{Upgrade, "upgrade", "populating or upgrading the volume failed; the message says where the backup is"},
	{VolumeNewer, "volume-newer", "the volume was written by a newer image than this one (a newer format, or a newer build while volume.downgrade refuses); use the newer image, or allow one downgrade with APPAGENT_DOWNGRADE=allow (docs/volume.md)"},
	{Configure, "configure-failed", "the first-boot configure hook (or the reconfigure hook) failed (default; the image may declare another code)"},
	{UpgradeHook, "upgrade-hook-failed", "the upgrade hook failed (default; the image may declare another code)"},
	{Essential, "essential-failed", "a unit the image marks essential failed (default; the image may declare another code)"},
	{ParamChanged, "param-changed", "a parameter differs from the stored value and the image refuses changes"},
	{VolumeForeign, "volume-foreign", "the volume holds files but no appagent state (hand-made, its .appagent lost, or the wrong volume); start once with APPAGENT_ADOPT=yes to adopt it (docs/volume.md)"},
	{Starting, "starting", "`status`: the container is still starting"},
	{Degraded, "degraded", "`status`: running, but a non-essential unit failed"},
	{Failed, "failed", "`status`: failed (an essential unit or hook failed) or stopping"},
	{NotAvailable, "not-available", "`status`: systemd or the agent could not be reached"},
	{JoinHook, "join-failed", "a replica's join hook failed; it runs again at the next start (default; the image may declare another code)"},
	{RoleRefused, "role-refused", "the instance's role does not fit its volume: a primary's data started as a replica, or a replica's unfinished copy as the primary (docs/replication.md)"},
	{SystemdExited, "systemd-exited", "not appagent's: systemd itself could not start (\"Exiting PID 1\", a cause the preflight does not know, or APPAGENT_SKIP_PREFLIGHT=1); its last words are in the lines before when the console caught them (docs/runtimes.md)"},
}

// Error carries an exit code through the error chain to main.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With wraps err so that main exits with code. A nil err stays nil.
func With(code Code, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Withf is With for a formatted message.
func Withf(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Of returns the code carried by err: OK for nil, Failure when none is carried.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failure
}
