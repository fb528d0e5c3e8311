package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/checks"
	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/units"
	"github.com/appagent/appagent/agent/upgrade"
)

// State is the container's overall state.
type State string

const (
	Starting State = "starting" // systemd or a hook is still starting
	Ready    State = "ready"    // every unit of the application is up
	Degraded State = "degraded" // running, but a non-essential unit failed
	Failed   State = "failed"   // an essential unit, a hook or the agent failed
	Stopping State = "stopping" // the container is shutting down
	Unknown  State = "unknown"  // systemd could not be reached
)

// Code is the exit code of `appagent status` for a state (docs/status.md).
func (s State) Code() exitcode.Code {
	switch s {
	case Ready:
		return exitcode.OK
	case Starting:
		return exitcode.Starting
	case Degraded:
		return exitcode.Degraded
	case Failed, Stopping:
		return exitcode.Failed
	}
	return exitcode.NotAvailable
}

// Final tells whether --wait stops at this state.
func (s State) Final() bool { return s == Ready || s == Degraded || s == Failed || s == Stopping }

// SchemaVersion of the JSON document; raised only for incompatible changes (fields are added
// without raising it).
const SchemaVersion = 1

// Status is what `appagent status --json` prints. docs/status.md documents every field.
type Status struct {
	Schema      int         `json:"schema"`
	State       State       `json:"state"`
	Reason      string      `json:"reason"`
	ExitCode    int         `json:"exit_code"`
	CheckedAt   time.Time   `json:"checked_at"`
	SystemState string      `json:"system_state"` // systemd's: initializing, starting, running, degraded, stopping, …
	FailedUnits []string    `json:"failed_units"` // every failed unit of the system, the application's or not
	Units       []Unit      `json:"units"`
	Hooks       []Hook      `json:"hooks"`
	Volume      Volume      `json:"volume"`
	Parameters  []Parameter `json:"parameters"` // null when the agent has not published them yet
	// Checks are the application checks' last results (docs/status.md), [] when none are
	// declared.
	Checks []checks.Result `json:"checks"`
	Error  string          `json:"error,omitempty"`
}

// Unit is one unit of the application (or appagent.service).
type Unit struct {
	Name        string     `json:"name"`
	Essential   bool       `json:"essential"`
	LoadState   string     `json:"load_state"`
	ActiveState string     `json:"active_state"`
	SubState    string     `json:"sub_state"`
	Since       *time.Time `json:"since"`       // last state change; null when it never changed
	Restarts    int        `json:"restarts"`    // automatic restarts (NRestarts) since boot
	Result      string     `json:"result"`      // of the last run: success, exit-code, signal, timeout, …
	ExitStatus  *int       `json:"exit_status"` // of the main process's last exit, when it failed
	Problem     string     `json:"problem,omitempty"`
}

// Hook is a first-boot, upgrade or reconfigure hook unit.
type Hook struct {
	Name  string     `json:"name"` // configure, upgrade, reconfigure
	Unit  string     `json:"unit"`
	State string     `json:"state"` // pending, running, done, skipped, failed, absent
	Since *time.Time `json:"since"`
	// ExitStatus of the hook's last failed run.
	ExitStatus *int `json:"exit_status"`
}

// Volume is what status knows about the volume and the image.
type Volume struct {
	Path         string `json:"path"`
	Format       *int   `json:"format"`         // format version on the volume; null: unknown or not populated yet
	ImageFormat  int    `json:"image_format"`   // format version this image writes
	BuildID      string `json:"build_id"`       // build id of the image that last populated or upgraded the volume; "" unknown
	ImageBuildID string `json:"image_build_id"` // build id of this image; "" unknown
	// Review lists the files the last upgrade left beside the user's (NAME.appagent-new) or
	// moved aside (NAME.appagent-old) that are still there: someone should merge them.
	Review []string `json:"review"`
	// ReviewKnown is false when the last upgrade's record could not be read.
	ReviewKnown bool `json:"review_known"`
}

// Parameter is one declared parameter as the agent published it; secret values never appear.
type Parameter struct {
	Name   string `json:"name"`
	Source string `json:"source"` // params.Source: env, env-file, secret, stored, default, unset
	Set    bool   `json:"set"`
	Secret bool   `json:"secret"`
	Value  string `json:"value,omitempty"` // non-secret parameters only
}

// Paths the status reads; tests point them into a temporary root.
type Paths struct {
	ParamsStatus string // default /run/appagent/params-status.json
	ImageBuildID string // default /usr/share/appagent/build-id
	Checks       string // default checks.ResultsFile
}

// Options of Collect.
type Options struct {
	Config *config.Config
	// Systemd is the connection; nil with DialErr set when it could not be made.
	Systemd Systemd
	DialErr error
	Paths   Paths
	Now     func() time.Time
}

// Collect gathers the facts and decides the state. It always returns a Status: a fact that
// cannot be read is left unknown.
func Collect(ctx context.Context, o Options) *Status {
	if o.Paths.ParamsStatus == "" {
		o.Paths.ParamsStatus = layout.RuntimeDir + "/" + layout.ParamsStatus
	}
	if o.Paths.ImageBuildID == "" {
		o.Paths.ImageBuildID = units.BuildIDFile
	}
	if o.Paths.Checks == "" {
		o.Paths.Checks = checks.ResultsFile
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := o.Config
	st := &Status{Schema: SchemaVersion, CheckedAt: o.Now().UTC().Truncate(time.Millisecond), FailedUnits: []string{},
		Units: []Unit{}, Hooks: []Hook{}}
	st.Volume = readVolume(cfg, o.Paths.ImageBuildID)
	st.Parameters = readParams(o.Paths.ParamsStatus)
	st.Checks = readChecks(cfg, o.Paths.Checks)

	if o.Systemd == nil {
		st.Error = errString(o.DialErr, "systemd not reachable")
		Decide(st)
		return st
	}
	var err error
	if st.SystemState, err = o.Systemd.SystemState(ctx); err != nil {
		st.Error = err.Error()
		Decide(st)
		return st
	}
	if f, err := o.Systemd.Failed(ctx); err == nil && f != nil {
		st.FailedUnits = f
	}
	names := []string{units.AgentUnit}
	essential := []bool{true}
	for _, u := range cfg.Units {
		names = append(names, u.Name)
		essential = append(essential, u.Essential)
	}
	hooks := declaredHooks(cfg, st.Volume.ImageBuildID)
	for _, h := range hooks {
		names = append(names, h.Unit)
	}
	props, errs := o.Systemd.Units(ctx, names)
	for i := range essential {
		u := Unit{Name: names[i], Essential: essential[i]}
		if errs[i] != nil {
			u.LoadState, u.Problem = "unknown", errs[i].Error()
		} else {
			fillUnit(&u, props[i])
		}
		st.Units = append(st.Units, u)
	}
	for k, h := range hooks {
		i := len(essential) + k
		if errs[i] != nil {
			h.State = "unknown"
		} else {
			hookState(&h, props[i])
		}
		st.Hooks = append(st.Hooks, h)
	}
	Decide(st)
	return st
}

func errString(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}

func declaredHooks(cfg *config.Config, buildID string) []Hook {
	var hs []Hook
	for _, hu := range units.HookUnits(cfg, buildID) {
		hs = append(hs, Hook{Name: hu.Hook, Unit: hu.Unit})
	}
	return hs
}

func usecTime(us uint64) *time.Time {
	if us == 0 {
		return nil
	}
	t := time.UnixMicro(int64(us)).UTC()
	return &t
}

func fillUnit(u *Unit, p UnitProps) {
	u.LoadState, u.ActiveState, u.SubState = p.LoadState, p.ActiveState, p.SubState
	u.Since = usecTime(p.StateChange)
	u.Restarts = int(p.NRestarts)
	u.Result = p.Result
	// A unit whose Condition*= or ExecCondition= said no did what its image asked (e.g. sshd
	// only when a parameter enables it): "skipped", never a failure or "never started".
	if (p.ConditionTimestamp != 0 && !p.ConditionResult) || p.Result == "exec-condition" {
		u.Result = "skipped"
		return
	}
	if p.IsService && p.Result != "" && p.Result != "success" && p.ExecMainCode != 0 {
		s := int(p.ExecMainStatus)
		u.ExitStatus = &s
	}
}

// hookState maps a hook unit's state to pending/running/done/skipped/failed/absent. A hook
// unit is a oneshot that runs once per volume (configure) or image build (upgrade): its
// condition fails ("skipped") when the stamp on the volume says it already ran.
func hookState(h *Hook, p UnitProps) {
	h.Since = usecTime(p.StateChange)
	switch {
	case p.LoadState == "not-found":
		h.State = "absent"
	case p.ActiveState == "failed" || (p.Result != "" && p.Result != "success"):
		h.State = "failed"
		if p.ExecMainCode != 0 {
			s := int(p.ExecMainStatus)
			h.ExitStatus = &s
		}
	case p.ActiveState == "activating" || p.ActiveState == "deactivating" || p.ActiveState == "reloading":
		h.State = "running"
	case p.ConditionTimestamp != 0 && !p.ConditionResult:
		h.State = "skipped"
	case p.ActiveState == "active" || p.ActiveEnter != 0:
		h.State = "done"
	default:
		h.State = "pending"
	}
}

// Decide sets State, Reason and ExitCode from the facts in st.
func Decide(st *Status) {
	st.State, st.Reason = decide(st)
	st.ExitCode = int(st.State.Code())
}

func decide(st *Status) (State, string) {
	switch st.SystemState {
	case "":
		return Unknown, "cannot reach systemd: " + st.Error
	case "maintenance", "offline":
		return Failed, "systemd is in " + st.SystemState + " mode"
	}
	starting := st.SystemState == "initializing" || st.SystemState == "starting"
	for _, h := range st.Hooks {
		if h.State == "failed" {
			return Failed, fmt.Sprintf("the %s hook (%s) failed%s; see journalctl -u %s", h.Name, h.Unit, exitText(h.ExitStatus), h.Unit)
		}
	}
	var waiting, degraded []string
	for _, u := range st.Units {
		switch {
		case u.LoadState != "loaded" && u.LoadState != "":
			if u.Essential {
				return Failed, fmt.Sprintf("essential unit %s cannot start: it is %s", u.Name, u.LoadState)
			}
			degraded = append(degraded, fmt.Sprintf("%s is %s", u.Name, u.LoadState))
		case u.ActiveState == "failed":
			if u.Essential {
				return Failed, fmt.Sprintf("essential unit %s failed (%s%s); see journalctl -u %s", u.Name, u.Result, exitText(u.ExitStatus), u.Name)
			}
			degraded = append(degraded, fmt.Sprintf("%s failed (%s%s)", u.Name, u.Result, exitText(u.ExitStatus)))
		case u.ActiveState == "activating" && u.SubState == "auto-restart":
			degraded = append(degraded, fmt.Sprintf("%s is restarting after a failure (%d restarts)", u.Name, u.Restarts))
		case u.ActiveState == "activating" || u.ActiveState == "reloading":
			waiting = append(waiting, u.Name+" ("+u.ActiveState+")")
		case u.ActiveState == "inactive" && u.Result == "skipped":
		case u.ActiveState == "inactive" && u.Result != "" && u.Result != "success":
			degraded = append(degraded, fmt.Sprintf("%s stopped (%s%s)", u.Name, u.Result, exitText(u.ExitStatus)))
		case u.ActiveState == "inactive" && u.Since == nil:
			if !starting {
				degraded = append(degraded, u.Name+" was never started (is it enabled?)")
			} else {
				waiting = append(waiting, u.Name+" (not started yet)")
			}
		}
	}
	// An essential failure makes systemd stop the container: the failure above is the
	// reason; a plain stop is said as such.
	if st.SystemState == "stopping" {
		return Stopping, "systemd is stopping the container"
	}
	for _, h := range st.Hooks {
		if h.State == "running" {
			return Starting, fmt.Sprintf("the %s hook is running (%s)", h.Name, h.Unit)
		}
	}
	if starting || len(waiting) > 0 {
		if len(waiting) > 0 {
			return Starting, "waiting for " + strings.Join(waiting, ", ")
		}
		return Starting, "systemd is " + st.SystemState
	}
	// The units are up: does the application answer?
	var pending []string
	for _, c := range st.Checks {
		switch {
		case c.State == checks.Failing && c.OnFail == "failed":
			return Failed, fmt.Sprintf("check %s is failing (%s); see journalctl -u appagent", c.Name, c.Output)
		case c.State == checks.Failing:
			degraded = append(degraded, fmt.Sprintf("check %s is failing (%s)", c.Name, c.Output))
		case c.State == checks.Pending:
			pending = append(pending, c.Name)
		}
	}
	if len(degraded) > 0 {
		return Degraded, strings.Join(degraded, "; ")
	}
	if len(pending) > 0 {
		return Starting, "waiting for the check(s) " + strings.Join(pending, ", ") + " to pass"
	}
	if st.SystemState == "degraded" {
		return Degraded, "units outside the application failed: " + strings.Join(st.FailedUnits, ", ")
	}
	up := fmt.Sprintf("all %d units are up", len(st.Units))
	if len(st.Units) == 1 {
		up = "the 1 unit is up"
	}
	if n := len(st.Checks); n > 0 {
		up += fmt.Sprintf(" and %d check(s) pass", n)
	}
	return Ready, up
}

func exitText(s *int) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf(", exit status %d", *s)
}

func readSmall(p string, max int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max))
	return strings.TrimSpace(string(data)), err
}

// readVolume: the volume's side is agent/upgrade's to read (its files, its plans); the
// image's build id is the image's file.
func readVolume(cfg *config.Config, imageBuildID string) Volume {
	v := Volume{Path: cfg.Volume.Path, ImageFormat: cfg.Volume.Format}
	st := upgrade.ReadVolumeState(cfg.Volume.Path)
	v.Format, v.BuildID, v.Review, v.ReviewKnown = st.Format, st.BuildID, st.Review, st.ReviewKnown
	v.ImageBuildID, _ = readSmall(imageBuildID, 256)
	return v
}

// readChecks reads the agent's published check results. Declared checks the file does not
// (yet) hold are pending: the agent has not run them.
func readChecks(cfg *config.Config, file string) []checks.Result {
	out := []checks.Result{}
	if len(cfg.Checks) == 0 {
		return out
	}
	doc, _ := checks.Read(file)
	got := map[string]checks.Result{}
	if doc != nil {
		for _, r := range doc.Checks {
			got[r.Name] = r
		}
	}
	for _, c := range cfg.Checks {
		r, ok := got[c.Name]
		if !ok {
			r = checks.Result{Name: c.Name, Unit: c.Unit, State: checks.Pending, OnFail: c.OnFail, Output: "not run yet"}
		}
		out = append(out, r)
	}
	return out
}

func readParams(file string) []Parameter {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var ps []Parameter
	if err := json.Unmarshal(data, &ps); err != nil {
		return nil
	}
	for i := range ps {
		if ps[i].Secret {
			ps[i].Value = ""
		}
	}
	return ps
}
