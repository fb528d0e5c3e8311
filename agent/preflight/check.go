package preflight

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"

	"github.com/appagent/appagent/agent/config"
)

// SkipEnv, set to 1 in the container's environment, makes init skip the preflight (for a
// runtime the checks misjudge; please report it). doctor always checks.
const SkipEnv = "APPAGENT_SKIP_PREFLIGHT"

// Runtime is the container runtime as far as it can be told from inside.
type Runtime string

const (
	Podman     Runtime = "podman"
	Docker     Runtime = "docker"
	Kubernetes Runtime = "kubernetes"
	Nspawn     Runtime = "systemd-nspawn"
	Unknown    Runtime = "unknown"
)

// DetectRuntime tells the runtime from the marks runtimes leave: Kubernetes' service
// environment, podman's /run/.containerenv, docker's /.dockerenv, and the `container`
// variable of the Container Interface (https://systemd.io/CONTAINER_INTERFACE/).
func DetectRuntime(sys *System) Runtime {
	c := sys.Getenv("container")
	switch {
	case sys.Getenv("KUBERNETES_SERVICE_HOST") != "":
		return Kubernetes
	case c == "podman" || sys.exists("/run/.containerenv"):
		return Podman
	case c == "docker" || sys.exists("/.dockerenv"):
		return Docker
	case c == "systemd-nspawn":
		return Nspawn
	}
	return Unknown
}

// fixes holds a fix per runtime; fix picks the one for the detected runtime, or all of them.
type fixes map[Runtime]string

func (f fixes) pick(rt Runtime) string {
	if s, ok := f[rt]; ok {
		return s
	}
	var parts []string
	for _, r := range []Runtime{Podman, Docker, Kubernetes, Nspawn} {
		if s, ok := f[r]; ok {
			parts = append(parts, string(r)+": "+s)
		}
	}
	return strings.Join(parts, "; ")
}

// Check runs the checks that must pass before systemd is exec'd: /run can be a tmpfs, the
// cgroup hierarchy is writable, the volume is a mount and takes writes. It never stops early:
// every problem is reported at once.
func Check(cfg *config.Config, sys *System) Results {
	rt := DetectRuntime(sys)
	var rs Results
	mounts, merr := readMounts(sys)
	caps, cerr := readCaps(sys)
	if merr != nil {
		rs = append(rs, Result{Check: "mountinfo", Severity: Warn,
			Message: fmt.Sprintf("cannot read the mount table, mount checks skipped: %v", merr),
			Fix:     "mount /proc in the container (every runtime does by default)"})
	}
	if cerr != nil {
		rs = append(rs, Result{Check: "capabilities", Severity: Warn,
			Message: fmt.Sprintf("cannot read the process's capabilities: %v", cerr)})
	}
	sysAdmin := cerr == nil && caps&(1<<CapSysAdmin) != 0
	if merr == nil {
		rs = append(rs, checkRun(mounts, sysAdmin, rt))
		rs = append(rs, checkCgroup(sys, mounts, sysAdmin, rt))
		rs = append(rs, checkVolumeMount(cfg, sys, mounts, rt))
	}
	rs = append(rs, checkVolumeWritable(cfg, sys, rt))
	return rs
}

func readMounts(sys *System) (Mounts, error) {
	data, err := sys.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ParseMountinfo(string(data))
}

func readCaps(sys *System) (uint64, error) {
	data, err := sys.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return EffectiveCaps(string(data))
}

var runFixes = fixes{
	Podman:     "run with --systemd=always (podman then mounts tmpfs on /run and /tmp and a writable cgroup), or add --tmpfs /run --tmpfs /tmp",
	Docker:     "add --tmpfs /run --tmpfs /tmp to docker run (and STOPSIGNAL SIGRTMIN+3 in the image)",
	Kubernetes: "mount an emptyDir with medium: Memory at /run (and another at /tmp) in the pod spec",
	Nspawn:     "systemd-nspawn mounts /run itself; check --tmpfs/--bind options that replace it",
}

// checkRun: systemd mounts a tmpfs on /run when it is not a mount point already, which needs
// CAP_SYS_ADMIN; without it systemd prints "Failed to mount tmpfs at /run: Operation not
// permitted" and exits (ENVIRONMENT.md: docker-like runs, podman --systemd=false).
func checkRun(ms Mounts, sysAdmin bool, rt Runtime) Result {
	r := Result{Check: "run-tmpfs"}
	m, ok := ms.At("/run")
	switch {
	case ok && m.FSType == "tmpfs":
		r.Severity, r.Message = Pass, "/run is a tmpfs"
	case ok:
		r.Severity = Warn
		r.Message = fmt.Sprintf("/run is a %s mount, not a tmpfs: files under /run would outlive a restart of the container", m.FSType)
		r.Fix = runFixes.pick(rt)
	case sysAdmin:
		r.Severity, r.Message = Pass, "/run is not a mount, but the container has CAP_SYS_ADMIN: systemd mounts a tmpfs there itself"
	default:
		r.Severity = Fail
		r.Message = "/run is not a tmpfs and the container lacks CAP_SYS_ADMIN to mount one: systemd would exit at once with \"Failed to mount tmpfs at /run: Operation not permitted\""
		r.Fix = runFixes.pick(rt)
	}
	return r
}

var cgroupFixes = fixes{
	Podman:     "run with --systemd=always (rootful podman on a cgroup v1 or hybrid host; on cgroup v2 rootless works too)",
	Docker:     "add --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw (cgroup v2 host), or run under podman --systemd=always",
	Kubernetes: "run on cgroup v2 nodes whose runtime gives the container a writable cgroup namespace (CRI-O does for containers whose command is systemd or init)",
	Nspawn:     "systemd-nspawn sets up cgroups itself; check --property and --keep-unit options",
}

// checkCgroup: systemd must create cgroups below its own: on cgroup v2 in the unified
// hierarchy, on v1 and hybrid hosts in its named hierarchy /sys/fs/cgroup/systemd.
func checkCgroup(sys *System, ms Mounts, sysAdmin bool, rt Runtime) Result {
	r := Result{Check: "cgroup"}
	m, ok := ms.At("/sys/fs/cgroup")
	if !ok {
		if sysAdmin {
			r.Severity, r.Message = Pass, "/sys/fs/cgroup is not mounted, but the container has CAP_SYS_ADMIN: systemd mounts it itself"
			return r
		}
		r.Severity = Fail
		r.Message = "/sys/fs/cgroup is not mounted and the container lacks CAP_SYS_ADMIN to mount it: systemd cannot manage services"
		r.Fix = cgroupFixes.pick(rt)
		return r
	}
	var own []Cgroup
	if data, err := sys.ReadFile("/proc/self/cgroup"); err == nil {
		own, _ = ParseCgroups(string(data))
	}
	var base, want, kind string
	switch m.FSType {
	case "cgroup2":
		base, want, kind = "/sys/fs/cgroup", "", "cgroup v2"
	case "tmpfs":
		// v1 or hybrid: systemd tracks its processes in the name=systemd hierarchy.
		sm, ok := ms.At("/sys/fs/cgroup/systemd")
		if !ok || sm.FSType != "cgroup" {
			r.Severity = Fail
			r.Message = "/sys/fs/cgroup is a cgroup v1 tree without systemd's hierarchy (/sys/fs/cgroup/systemd): systemd cannot start"
			r.Fix = cgroupFixes.pick(rt)
			return r
		}
		base, want, kind = "/sys/fs/cgroup/systemd", "name=systemd", "cgroup v1 (name=systemd)"
	default:
		r.Severity = Warn
		r.Message = fmt.Sprintf("/sys/fs/cgroup is a %s mount, which systemd may not understand", m.FSType)
		r.Fix = cgroupFixes.pick(rt)
		return r
	}
	dir := base
	for _, c := range own {
		// A process that joined the container from outside (nsenter, some exec paths) sees
		// its cgroup as "/.." relative to the container's namespace: use the mount itself.
		if c.Controllers == want && (want != "" || c.Hierarchy == 0) && !strings.Contains(c.Path, "..") {
			if p := path.Join(base, c.Path); sys.exists(p) {
				dir = p
			}
		}
	}
	if err := sys.Access(dir); err != nil {
		why := err.Error()
		if errors.Is(err, syscall.EROFS) {
			why = "mounted read-only"
		}
		r.Severity = Fail
		r.Message = fmt.Sprintf("the %s hierarchy at %s is not writable (%s): systemd cannot create cgroups for services", kind, dir, why)
		r.Fix = cgroupFixes.pick(rt)
		return r
	}
	r.Severity, r.Message = Pass, fmt.Sprintf("%s at %s is writable", kind, dir)
	return r
}

var volumeFixes = fixes{
	Podman:     "podman run -v NAME:%[1]s (a named volume) or -v /host/dir:%[1]s",
	Docker:     "docker run -v NAME:%[1]s (a named volume) or -v /host/dir:%[1]s",
	Kubernetes: "add a volumeMounts entry with mountPath: %[1]s backed by a PersistentVolumeClaim",
	Nspawn:     "systemd-nspawn --bind=/host/dir:%[1]s",
}

func checkVolumeMount(cfg *config.Config, sys *System, ms Mounts, rt Runtime) Result {
	vol := cfg.Volume.Path
	r := Result{Check: "volume-mount"}
	if m, ok := ms.At(vol); ok {
		r.Severity, r.Message = Pass, fmt.Sprintf("%s is a mount (%s)", vol, m.FSType)
		return r
	}
	r.Severity = Warn
	if cfg.Volume.RequireMount {
		r.Severity = Fail
	}
	r.Message = fmt.Sprintf("%s is not a mount point: the data would be written into the container's own layer and lost when the container is removed", vol)
	if cfg.Volume.RequireMount {
		r.Message += fmt.Sprintf(" (the image sets volume.require_mount in %s)", cfg.File)
	}
	r.Fix = fmt.Sprintf(volumeFixes.pick(rt), vol)
	return r
}

func checkVolumeWritable(cfg *config.Config, sys *System, rt Runtime) Result {
	vol := cfg.Volume.Path
	r := Result{Check: "volume-writable"}
	fi, err := sys.Stat(vol)
	switch {
	case isNotExist(err):
		r.Severity, r.Message = Warn, fmt.Sprintf("%s does not exist yet; init creates it in the container's layer", vol)
		r.Fix = fmt.Sprintf(volumeFixes.pick(rt), vol)
		return r
	case err != nil:
		r.Severity, r.Message = Fail, fmt.Sprintf("cannot stat the volume %s: %v", vol, err)
		return r
	case !fi.IsDir():
		r.Severity, r.Message = Fail, fmt.Sprintf("the volume path %s is not a directory", vol)
		r.Fix = fmt.Sprintf(volumeFixes.pick(rt), vol)
		return r
	}
	if err := sys.Probe(vol); err != nil {
		r.Severity = Fail
		switch {
		case errors.Is(err, syscall.EROFS):
			r.Message = fmt.Sprintf("the volume %s is mounted read-only", vol)
			r.Fix = "mount the volume read-write (drop :ro, or readOnly: true in Kubernetes); a read-only root (--read-only) is fine"
		case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
			r.Message = fmt.Sprintf("the volume %s does not take writes from root in the container (%v): its owner is outside the container's user namespace", vol, err)
			r.Fix = "rootless podman: add :U to the volume option (-v NAME:" + vol + ":U); docker: chown the host directory; Kubernetes: set securityContext.fsGroup"
		default:
			r.Message = fmt.Sprintf("cannot write to the volume %s: %v", vol, err)
		}
		return r
	}
	r.Severity, r.Message = Pass, fmt.Sprintf("%s takes writes", vol)
	return r
}
