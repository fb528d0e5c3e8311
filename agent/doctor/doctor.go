package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/preflight"
)

// Units is what doctor asks systemd (agent/status implements it over D-Bus).
type Units interface {
	// SystemState is systemd's overall state: initializing, starting, running, degraded, …
	SystemState(ctx context.Context) (string, error)
	// LoadState of a unit: loaded, not-found, masked, bad-setting, error.
	LoadState(ctx context.Context, unit string) (string, error)
	// Failed lists the units in the failed state.
	Failed(ctx context.Context) ([]string, error)
	// ExitStatus is a service's ExecMainStatus (226 is systemd's NAMESPACE).
	ExitStatus(ctx context.Context, unit string) (int32, error)
	// Properties reads a service's properties as `systemctl show` prints them.
	Properties(ctx context.Context, unit string, names []string) (map[string]string, error)
}

// Options configure Run.
type Options struct {
	// Units reaches systemd; nil when it could not be reached (Err says why).
	Units    Units
	UnitsErr error
	// ExtraUnits are appagent's own units that must load (hook units the generator made, …).
	ExtraUnits []string
	// Record checks the volume's state files (upgrade.VerifyRecord); nil: not checked.
	Record func() (string, error)
}

// Run runs preflight.Check and the checks that need a running system: systemd's state, the
// application's units not masked, the stop signal, journald's storage, hostname and identity,
// free space and the lock on the volume.
func Run(ctx context.Context, cfg *config.Config, sys *preflight.System, o Options) preflight.Results {
	rs := preflight.Check(cfg, sys)
	rt := preflight.DetectRuntime(sys)
	if r, ok := checkCluster(sys, rt); ok {
		rs = append(rs, r)
	}
	rs = append(rs, checkSystemd(ctx, sys, o))
	rs = append(rs, checkUnits(ctx, cfg, o))
	if sys.MountNamespace != nil {
		rs = append(rs, checkNamespaces(ctx, cfg, sys, o))
	}
	rs = append(rs, checkStopSignal(rt))
	rs = append(rs, checkJournal(cfg, sys))
	rs = append(rs, checkIdentity(cfg, sys, rt))
	rs = append(rs, checkFree(cfg, sys))
	rs = append(rs, checkLock(cfg, sys))
	if o.Record != nil {
		rs = append(rs, checkRecord(cfg, sys, o.Record))
	}
	return rs
}

// checkRecord: the volume's manifest, build id, format and txn can carry the next upgrade.
// A damaged manifest is otherwise seen only by that upgrade, after the image that wrote it
// is gone.
func checkRecord(cfg *config.Config, sys *preflight.System, verify func() (string, error)) preflight.Result {
	r := preflight.Result{Check: "volume-record"}
	if _, err := sys.Stat(path.Join(cfg.Volume.Path, layout.StateDir)); err != nil {
		r.Severity, r.Message = preflight.Info, fmt.Sprintf("skipped: %s has no %s yet (see volume-mount)", cfg.Volume.Path, layout.StateDir)
		return r
	}
	msg, err := verify()
	if err != nil {
		r.Severity, r.Message = preflight.Fail, err.Error()
		r.Fix = "restart the container when the volume is at this image's build (init rewrites the manifest from the image); otherwise see docs/volume.md, \"Damaged state\""
		return r
	}
	r.Severity, r.Message = preflight.Pass, msg
	return r
}

func checkSystemd(ctx context.Context, sys *preflight.System, o Options) preflight.Result {
	r := preflight.Result{Check: "systemd"}
	if o.Units == nil && !pid1IsSystemd(sys) {
		// doctor runs as the container's own command (podman run --entrypoint appagent IMAGE
		// doctor, with the flags to try): the runtime checks above are the answer.
		r.Severity = preflight.Info
		r.Message = "systemd does not run in this container (doctor is its command): only the runtime checks ran"
		r.Fix = "for the live checks run it in the running container: podman exec CONTAINER appagent doctor"
		return r
	}
	if o.Units == nil {
		r.Severity = preflight.Fail
		r.Message = fmt.Sprintf("cannot reach systemd over its private socket: %v", o.UnitsErr)
		r.Fix = "run doctor as root inside the running container (podman exec / docker exec / kubectl exec); if the container is not running, see podman logs for the exit reason"
		return r
	}
	st, err := o.Units.SystemState(ctx)
	if err != nil {
		r.Severity, r.Message = preflight.Fail, fmt.Sprintf("cannot read systemd's state: %v", err)
		return r
	}
	switch st {
	case "running":
		r.Severity, r.Message = preflight.Pass, "systemd is running"
	case "degraded":
		failed, _ := o.Units.Failed(ctx)
		r.Severity = preflight.Warn
		r.Message = fmt.Sprintf("systemd is degraded: failed units: %s", strings.Join(failed, ", "))
		r.Fix = "look at `journalctl -u UNIT` for each failed unit; `appagent status` tells whether it matters"
	case "initializing", "starting":
		r.Severity, r.Message = preflight.Info, "systemd is still starting; run doctor again when `appagent status --wait` returns"
	default:
		r.Severity, r.Message = preflight.Warn, fmt.Sprintf("systemd is %s", st)
	}
	return r
}

func checkUnits(ctx context.Context, cfg *config.Config, o Options) preflight.Result {
	r := preflight.Result{Check: "units"}
	if o.Units == nil {
		r.Severity, r.Message = preflight.Info, "skipped: systemd not reachable"
		return r
	}
	names := []string{"appagent.service"}
	for _, u := range cfg.Units {
		names = append(names, u.Name)
	}
	names = append(names, o.ExtraUnits...)
	var bad []string
	masked := false
	for _, n := range names {
		st, err := o.Units.LoadState(ctx, n)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s (%v)", n, err))
		case st == "loaded":
		case st == "masked":
			masked = true
			bad = append(bad, n+" is masked")
		default:
			bad = append(bad, n+" is "+st)
		}
	}
	if len(bad) == 0 {
		r.Severity, r.Message = preflight.Pass, fmt.Sprintf("%s the image needs %s loaded", countUnits(len(names)), map[bool]string{true: "is", false: "are"}[len(names) == 1])
		return r
	}
	r.Severity = preflight.Fail
	r.Message = "units the image needs cannot start: " + strings.Join(bad, "; ")
	if masked {
		r.Fix = fmt.Sprintf("remove the unit from container.mask in %s (or list it in container.unmask), rebuild the image", cfg.File)
	} else {
		r.Fix = fmt.Sprintf("install the package that ships the unit, or fix the unit name under units: in %s", cfg.File)
	}
	return r
}

// checkStopSignal: the stop signal is set on the outside (image STOPSIGNAL, runtime flags)
// and cannot be observed from inside; say what each runtime needs. systemd treats SIGTERM
// as "re-execute", so a runtime that sends SIGTERM waits its timeout and then kills.
func checkStopSignal(rt preflight.Runtime) preflight.Result {
	r := preflight.Result{Check: "stop-signal", Severity: preflight.Info}
	switch rt {
	case preflight.Podman:
		r.Message = "podman sends SIGRTMIN+3 when the image says STOPSIGNAL SIGRTMIN+3 or the container runs with --systemd=always; cannot be checked from inside"
		r.Fix = "keep STOPSIGNAL SIGRTMIN+3 in the Containerfile, or run with --stop-signal SIGRTMIN+3"
	case preflight.Docker:
		r.Message = "docker stop sends the image's STOPSIGNAL; SIGTERM only makes systemd re-execute itself, so the stop would end in SIGKILL; cannot be checked from inside"
		r.Fix = "keep STOPSIGNAL SIGRTMIN+3 in the Dockerfile, or run with --stop-signal SIGRTMIN+3"
	case preflight.Kubernetes, preflight.OpenShift:
		r.Message = "the runtime stops the container with lifecycle.stopSignal, else the image's STOPSIGNAL, else SIGTERM, which only makes systemd re-execute itself (the pod then ends in SIGKILL after terminationGracePeriodSeconds); cannot be checked from inside"
		r.Fix = "set lifecycle.stopSignal: SIGRTMIN+3 (Kubernetes 1.33+ with ContainerStopSignals; the runtime otherwise uses the image's STOPSIGNAL), or a preStop exec hook that runs `systemctl --no-block halt` (appagent kube --prestop)"
	default:
		r.Message = "the runtime must stop the container with SIGRTMIN+3 (systemd's clean halt); cannot be checked from inside"
		r.Fix = "STOPSIGNAL SIGRTMIN+3 in the image, or the runtime's stop-signal option"
	}
	return r
}

func checkIdentity(cfg *config.Config, sys *preflight.System, rt preflight.Runtime) preflight.Result {
	r := preflight.Result{Check: "hostname"}
	host, err := sys.Hostname()
	if err != nil {
		r.Severity, r.Message = preflight.Warn, fmt.Sprintf("cannot read the hostname: %v", err)
		return r
	}
	if cfg.Identity == "" {
		r.Severity, r.Message = preflight.Pass, fmt.Sprintf("hostname is %q (the image declares no identity parameter)", host)
		return r
	}
	want := sys.Getenv(cfg.Identity)
	if want == "" {
		for _, p := range cfg.Parameters {
			if p.Name == cfg.Identity && p.Default != nil {
				want = *p.Default
			}
		}
	}
	if want == "" {
		r.Severity = preflight.Warn
		r.Message = fmt.Sprintf("the identity parameter %s is not set; hostname is %q", cfg.Identity, host)
		r.Fix = fmt.Sprintf("set -e %s=FQDN and --hostname FQDN", cfg.Identity)
		return r
	}
	if strings.EqualFold(strings.TrimSuffix(want, "."), host) {
		r.Severity, r.Message = preflight.Pass, fmt.Sprintf("hostname %q matches %s", host, cfg.Identity)
		return r
	}
	r.Severity = preflight.Warn
	r.Message = fmt.Sprintf("hostname %q differs from %s=%q; applications that check their own name may fail", host, cfg.Identity, want)
	r.SetFix(preflight.Fixes{
		preflight.Podman:     {Text: "podman run --hostname " + want, Flags: []string{"--hostname " + want}},
		preflight.Docker:     {Text: "docker run --hostname " + want, Flags: []string{"--hostname " + want}},
		preflight.Kubernetes: {Text: "set spec.hostname and spec.subdomain so that the FQDN is " + want + ", and setHostnameAsFQDN: true", Flags: nil},
		preflight.Nspawn:     {Text: "systemd-nspawn --hostname=" + want, Flags: []string{"--hostname=" + want}},
	}, rt)
	return r
}

// Free-space thresholds of the volume check.
const (
	freeWarnPercent = 10
	freeFailPercent = 2
	freeWarnBytes   = 512 << 20
	freeFailBytes   = 64 << 20
)

func checkFree(cfg *config.Config, sys *preflight.System) preflight.Result {
	r := preflight.Result{Check: "volume-free"}
	avail, total, err := sys.Free(cfg.Volume.Path)
	if errors.Is(err, fs.ErrNotExist) {
		r.Severity, r.Message = preflight.Info, fmt.Sprintf("skipped: %s does not exist (see volume-mount)", cfg.Volume.Path)
		return r
	}
	if err != nil {
		r.Severity, r.Message = preflight.Warn, fmt.Sprintf("cannot read the free space of %s: %v", cfg.Volume.Path, err)
		r.Fix = "run doctor as root in the container (podman exec CONTAINER appagent doctor); check the volume's mount with df " + cfg.Volume.Path
		return r
	}
	pct := 100.0
	if total > 0 {
		pct = float64(avail) * 100 / float64(total)
	}
	prec := 0
	if pct < 10 {
		prec = 1
	}
	msg := fmt.Sprintf("%s has %s free of %s (%.*f%%)", cfg.Volume.Path, human(avail), human(total), prec, pct)
	switch {
	case avail < freeFailBytes || pct < freeFailPercent:
		r.Severity, r.Message = preflight.Fail, msg+": databases and upgrades will fail"
		r.Fix = "grow the volume (or its PersistentVolumeClaim) or delete old backups under " + path.Join(cfg.Volume.Path, layout.BackupDir)
	case avail < freeWarnBytes || pct < freeWarnPercent:
		r.Severity, r.Message = preflight.Warn, msg
		r.Fix = "grow the volume before an upgrade: it keeps a backup of the files it changes"
	default:
		r.Severity, r.Message = preflight.Pass, msg
	}
	return r
}

func human(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// pid1IsSystemd tells whether PID 1 of this container is systemd (init exec'd it).
func pid1IsSystemd(sys *preflight.System) bool {
	comm, err := sys.ReadFile("/proc/1/comm")
	return err == nil && strings.TrimSpace(string(comm)) == "systemd"
}

// countUnits says "the 1 unit" or "all 3 units".
func countUnits(n int) string {
	if n == 1 {
		return "the 1 unit"
	}
	return fmt.Sprintf("all %d units", n)
}
