package preflight

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/upgrade"
	"golang.org/x/sys/unix"
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

// DoctorOptions configure Doctor.
type DoctorOptions struct {
	// Units reaches systemd; nil when it could not be reached (Err says why).
	Units    Units
	UnitsErr error
	// ExtraUnits are appagent's own units that must load (hook units the generator made, …).
	ExtraUnits []string
	// Record checks the volume's state files (upgrade.VerifyRecord); nil: not checked.
	Record func() (string, error)
}

// Doctor runs Check and the checks that need a running system: systemd's state, the
// application's units not masked, the stop signal, journald's storage, hostname and identity,
// free space and the lock on the volume.
func Doctor(ctx context.Context, cfg *config.Config, sys *System, o DoctorOptions) Results {
	rs := Check(cfg, sys)
	rt := DetectRuntime(sys)
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
func checkRecord(cfg *config.Config, sys *System, verify func() (string, error)) Result {
	r := Result{Check: "volume-record"}
	if _, err := sys.Stat(path.Join(cfg.Volume.Path, upgrade.StateDir)); err != nil {
		r.Severity, r.Message = Info, fmt.Sprintf("skipped: %s has no %s yet (see volume-mount)", cfg.Volume.Path, upgrade.StateDir)
		return r
	}
	msg, err := verify()
	if err != nil {
		r.Severity, r.Message = Fail, err.Error()
		r.Fix = "restart the container when the volume is at this image's build (init rewrites the manifest from the image); otherwise see docs/volume.md, \"Damaged state\""
		return r
	}
	r.Severity, r.Message = Pass, msg
	return r
}

func checkSystemd(ctx context.Context, sys *System, o DoctorOptions) Result {
	r := Result{Check: "systemd"}
	if o.Units == nil && !pid1IsSystemd(sys) {
		// doctor runs as the container's own command (podman run --entrypoint appagent IMAGE
		// doctor, with the flags to try): the runtime checks above are the answer.
		r.Severity = Info
		r.Message = "systemd does not run in this container (doctor is its command): only the runtime checks ran"
		r.Fix = "for the live checks run it in the running container: podman exec CONTAINER appagent doctor"
		return r
	}
	if o.Units == nil {
		r.Severity = Fail
		r.Message = fmt.Sprintf("cannot reach systemd over its private socket: %v", o.UnitsErr)
		r.Fix = "run doctor as root inside the running container (podman exec / docker exec / kubectl exec); if the container is not running, see podman logs for the exit reason"
		return r
	}
	st, err := o.Units.SystemState(ctx)
	if err != nil {
		r.Severity, r.Message = Fail, fmt.Sprintf("cannot read systemd's state: %v", err)
		return r
	}
	switch st {
	case "running":
		r.Severity, r.Message = Pass, "systemd is running"
	case "degraded":
		failed, _ := o.Units.Failed(ctx)
		r.Severity = Warn
		r.Message = fmt.Sprintf("systemd is degraded: failed units: %s", strings.Join(failed, ", "))
		r.Fix = "look at `journalctl -u UNIT` for each failed unit; `appagent status` tells whether it matters"
	case "initializing", "starting":
		r.Severity, r.Message = Info, "systemd is still starting; run doctor again when `appagent status --wait` returns"
	default:
		r.Severity, r.Message = Warn, fmt.Sprintf("systemd is %s", st)
	}
	return r
}

func checkUnits(ctx context.Context, cfg *config.Config, o DoctorOptions) Result {
	r := Result{Check: "units"}
	if o.Units == nil {
		r.Severity, r.Message = Info, "skipped: systemd not reachable"
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
		r.Severity, r.Message = Pass, fmt.Sprintf("%s the image needs %s loaded", countUnits(len(names)), map[bool]string{true: "is", false: "are"}[len(names) == 1])
		return r
	}
	r.Severity = Fail
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
func checkStopSignal(rt Runtime) Result {
	r := Result{Check: "stop-signal", Severity: Info}
	switch rt {
	case Podman:
		r.Message = "podman sends SIGRTMIN+3 when the image says STOPSIGNAL SIGRTMIN+3 or the container runs with --systemd=always; cannot be checked from inside"
		r.Fix = "keep STOPSIGNAL SIGRTMIN+3 in the Containerfile, or run with --stop-signal SIGRTMIN+3"
	case Docker:
		r.Message = "docker stop sends the image's STOPSIGNAL; SIGTERM only makes systemd re-execute itself, so the stop would end in SIGKILL; cannot be checked from inside"
		r.Fix = "keep STOPSIGNAL SIGRTMIN+3 in the Dockerfile, or run with --stop-signal SIGRTMIN+3"
	case Kubernetes, OpenShift:
		r.Message = "the runtime stops the container with lifecycle.stopSignal, else the image's STOPSIGNAL, else SIGTERM, which only makes systemd re-execute itself (the pod then ends in SIGKILL after terminationGracePeriodSeconds); cannot be checked from inside"
		r.Fix = "set lifecycle.stopSignal: SIGRTMIN+3 (Kubernetes 1.33+ with ContainerStopSignals; the runtime otherwise uses the image's STOPSIGNAL), or a preStop exec hook that runs `systemctl --no-block halt` (appagent kube --prestop)"
	default:
		r.Message = "the runtime must stop the container with SIGRTMIN+3 (systemd's clean halt); cannot be checked from inside"
		r.Fix = "STOPSIGNAL SIGRTMIN+3 in the image, or the runtime's stop-signal option"
	}
	return r
}

// journaldConf returns the effective journald settings: journald.conf, then drop-ins in
// /usr/lib, /run and /etc journald.conf.d, ordered by file name (systemd.unit(5) rules,
// simplified: a later file overrides).
func journaldConf(sys *System) map[string]string {
	conf := map[string]string{}
	files := []string{"/etc/systemd/journald.conf"}
	byName := map[string]string{}
	for _, d := range []string{"/usr/lib/systemd/journald.conf.d", "/run/systemd/journald.conf.d", "/etc/systemd/journald.conf.d"} {
		m, _ := sys.Glob(d + "/*.conf")
		for _, f := range m {
			byName[filepath.Base(f)] = f
		}
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, byName[n])
	}
	for _, f := range files {
		data, err := sys.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
				continue
			}
			if k, v, ok := strings.Cut(line, "="); ok {
				conf[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return conf
}

func checkJournal(cfg *config.Config, sys *System) Result {
	r := Result{Check: "journal"}
	conf := journaldConf(sys)
	storage := conf["Storage"]
	if storage == "" {
		storage = "auto"
	}
	persistent := storage == "persistent" || (storage == "auto" && sys.exists("/var/log/journal"))
	if !persistent {
		r.Severity = Pass
		r.Message = fmt.Sprintf("journal is volatile (Storage=%s): kept in /run, bounded by RuntimeMaxUse (%s); appagent forwards it to the container's output", storage, orDefault(conf["RuntimeMaxUse"], "10% of /run"))
		return r
	}
	onVolume := false
	if real, err := filepath.EvalSymlinks("/var/log/journal"); err == nil {
		onVolume = real == cfg.Volume.Path || strings.HasPrefix(real, cfg.Volume.Path+"/")
	}
	limit := "SystemMaxUse=" + orDefault(conf["SystemMaxUse"], "10% of the filesystem, at most 4G")
	if onVolume {
		r.Severity = Pass
		r.Message = fmt.Sprintf("journal is persistent on the volume, bounded by %s", limit)
		if conf["SystemMaxUse"] == "" {
			r.Severity = Warn
			r.Fix = "set SystemMaxUse= in /etc/systemd/journald.conf.d/ so the journal cannot fill the volume"
		}
		return r
	}
	r.Severity = Warn
	r.Message = fmt.Sprintf("journal is persistent (Storage=%s) in /var/log/journal, outside the volume: it grows in the container's layer (%s) and is lost on re-creation", storage, limit)
	r.Fix = "set Storage=volatile in a journald.conf.d drop-in (appagent forwards the journal to the container's output), or add /var/log/journal to volume.paths in " + cfg.File
	return r
}

// orDefault shows a journald setting: its value, or "unset: DEFAULT".
func orDefault(v, def string) string {
	if v == "" {
		return "unset: " + def
	}
	return v
}

func checkIdentity(cfg *config.Config, sys *System, rt Runtime) Result {
	r := Result{Check: "hostname"}
	host, err := sys.Hostname()
	if err != nil {
		r.Severity, r.Message = Warn, fmt.Sprintf("cannot read the hostname: %v", err)
		return r
	}
	if cfg.Identity == "" {
		r.Severity, r.Message = Pass, fmt.Sprintf("hostname is %q (the image declares no identity parameter)", host)
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
		r.Severity = Warn
		r.Message = fmt.Sprintf("the identity parameter %s is not set; hostname is %q", cfg.Identity, host)
		r.Fix = fmt.Sprintf("set -e %s=FQDN and --hostname FQDN", cfg.Identity)
		return r
	}
	if strings.EqualFold(strings.TrimSuffix(want, "."), host) {
		r.Severity, r.Message = Pass, fmt.Sprintf("hostname %q matches %s", host, cfg.Identity)
		return r
	}
	r.Severity = Warn
	r.Message = fmt.Sprintf("hostname %q differs from %s=%q; applications that check their own name may fail", host, cfg.Identity, want)
	r.fix(fixes{
		Podman:     {"podman run --hostname " + want, []string{"--hostname " + want}},
		Docker:     {"docker run --hostname " + want, []string{"--hostname " + want}},
		Kubernetes: {"set spec.hostname and spec.subdomain so that the FQDN is " + want + ", and setHostnameAsFQDN: true", nil},
		Nspawn:     {"systemd-nspawn --hostname=" + want, []string{"--hostname=" + want}},
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

func checkFree(cfg *config.Config, sys *System) Result {
	r := Result{Check: "volume-free"}
	avail, total, err := sys.Free(cfg.Volume.Path)
	if errors.Is(err, fs.ErrNotExist) {
		r.Severity, r.Message = Info, fmt.Sprintf("skipped: %s does not exist (see volume-mount)", cfg.Volume.Path)
		return r
	}
	if err != nil {
		r.Severity, r.Message = Warn, fmt.Sprintf("cannot read the free space of %s: %v", cfg.Volume.Path, err)
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
		r.Severity, r.Message = Fail, msg+": databases and upgrades will fail"
		r.Fix = "grow the volume (or its PersistentVolumeClaim) or delete old backups under " + path.Join(cfg.Volume.Path, ".appagent/backup")
	case avail < freeWarnBytes || pct < freeWarnPercent:
		r.Severity, r.Message = Warn, msg
		r.Fix = "grow the volume before an upgrade: it keeps a backup of the files it changes"
	default:
		r.Severity, r.Message = Pass, msg
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

// LockFile is the volume's lock (agent/upgrade owns the names), relative to the volume.
const LockFile = upgrade.LockFile

// checkLock reads /proc/locks for the volume's two locks: the keeper's exclusive one and the
// agent's shared one (agent/upgrade). A holder whose PID this namespace can see is this
// container; a holder shown as PID 0 or not in /proc is another container. It does not take
// a lock: that would race the volume helper.
func checkLock(cfg *config.Config, sys *System) Result {
	r := Result{Check: "volume-lock"}
	lock := path.Join(cfg.Volume.Path, LockFile)
	data, err := sys.ReadFile("/proc/locks")
	if err != nil {
		if _, serr := sys.Stat(lock); serr != nil {
			r.Severity, r.Message = Info, fmt.Sprintf("%s does not exist: no container has used this volume yet", lock)
			return r
		}
		r.Severity, r.Message = Info, fmt.Sprintf("cannot read /proc/locks: %v", err)
		return r
	}
	type hold struct {
		who, file  string
		ours, them bool
		pid        int
		exists     bool
	}
	holds := []*hold{{who: "keeper", file: lock}, {who: "agent", file: path.Join(cfg.Volume.Path, upgrade.AgentLockFile)}}
	lstat := sys.Lstat
	if lstat == nil {
		lstat = sys.Stat
	}
	for _, h := range holds {
		fi, err := lstat(h.file)
		if err != nil {
			continue
		}
		if !fi.Mode().IsRegular() {
			// Not followed: a link planted on the volume would point the check elsewhere.
			r.Severity = Fail
			r.Message = fmt.Sprintf("%s is not a regular file (%s): appagent does not lock through it, and a start on this volume is refused", h.file, fi.Mode().Type())
			r.Fix = "remove " + h.file + " while no container uses the volume; appagent makes a new one"
			return r
		}
		h.exists = true
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		for _, pid := range LockHolders(string(data), uint64(st.Dev), st.Ino) {
			if pid > 0 && sys.exists(fmt.Sprintf("/proc/%d", pid)) {
				h.ours, h.pid = true, pid
			} else {
				h.them = true
			}
		}
	}
	keeper, agent := holds[0], holds[1]
	switch {
	case !keeper.exists:
		r.Severity, r.Message = Info, fmt.Sprintf("%s does not exist: no container has used this volume yet", lock)
	case keeper.them || agent.them:
		r.Severity = Fail
		r.Message = fmt.Sprintf("the volume's lock is held by a process outside this container: another container uses the volume (%s)", lock)
		r.Fix = "stop the other container (podman ps --filter volume=NAME) before starting this one"
	case keeper.ours && agent.ours:
		r.Severity, r.Message = Pass, fmt.Sprintf("%s is held by this container (keeper pid %d, agent pid %d)", lock, keeper.pid, agent.pid)
	case keeper.ours && !agent.exists: // a volume an image before the agent's lock set up
		r.Severity, r.Message = Pass, fmt.Sprintf("%s is held by this container (pid %d)", lock, keeper.pid)
	case keeper.ours || agent.ours:
		h, gone := keeper, "agent (appagent.service)"
		if agent.ours {
			h, gone = agent, "keeper"
		}
		r.Severity = Warn
		r.Message = fmt.Sprintf("only the %s holds the volume (pid %d, %s): the %s is gone; a second container is still refused", h.who, h.pid, h.file, gone)
		r.Fix = "restart the container when convenient, so that both locks hold again"
	case !pid1IsSystemd(sys):
		r.Severity, r.Message = Info, fmt.Sprintf("nothing holds %s: no container uses the volume now", lock)
	default:
		r.Severity = Warn
		r.Message = fmt.Sprintf("nothing holds %s: a second container could open the same volume", lock)
		r.Fix = "the lock is held from init until the container stops; restart the container"
	}
	return r
}

// LockHolders returns the PIDs that /proc/locks shows holding a lock on the inode ino of
// device dev. Lines look like "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters
// ("1: -> FLOCK …") are skipped.
func LockHolders(procLocks string, dev, ino uint64) []int {
	major, minor := uint64(unix.Major(dev)), uint64(unix.Minor(dev))
	var pids []int
	for _, line := range strings.Split(procLocks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] == "->" {
			continue
		}
		id := strings.Split(f[5], ":")
		if len(id) != 3 {
			continue
		}
		ma, e1 := strconv.ParseUint(id[0], 16, 32)
		mi, e2 := strconv.ParseUint(id[1], 16, 32)
		in, e3 := strconv.ParseUint(id[2], 10, 64)
		if e1 != nil || e2 != nil || e3 != nil || ma != major || mi != minor || in != ino {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// pid1IsSystemd tells whether PID 1 of this container is systemd (init exec'd it).
func pid1IsSystemd(sys *System) bool {
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
