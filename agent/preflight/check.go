package preflight

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/ocihook"
)

// SkipEnv, set to 1 in the container's environment, makes init skip the preflight (for a
// runtime the checks misjudge; please report it). doctor always checks.
const SkipEnv = "APPAGENT_SKIP_PREFLIGHT"

// ServiceAccountDir is where Kubernetes mounts a pod's service account token.
const ServiceAccountDir = "/run/secrets/kubernetes.io/serviceaccount"

// SCCEnv is set by the pod spec `appagent kube --openshift` writes, from the pod's
// openshift.io/scc annotation (the downward API): the SCC that admitted the pod, which is the
// first thing to know on OpenShift and what tells OpenShift from plain Kubernetes.
const SCCEnv = "APPAGENT_SCC"

// Runtime is the container runtime as far as it can be told from inside.
type Runtime string

const (
	Podman     Runtime = "podman"
	Docker     Runtime = "docker"
	Kubernetes Runtime = "kubernetes"
	OpenShift  Runtime = "openshift" // Kubernetes, and its fixes apply
	Nspawn     Runtime = "systemd-nspawn"
	Unknown    Runtime = "unknown"
)

// DetectRuntime tells the runtime from the marks runtimes leave: Kubernetes' service
// environment or service account mount (OpenShift: the SCC that appagent kube's pod spec
// passes in), podman's /run/.containerenv, docker's /.dockerenv, and the `container`
// variable of the Container Interface (https://systemd.io/CONTAINER_INTERFACE/).
func DetectRuntime(sys *System) Runtime {
	c := sys.Getenv("container")
	switch {
	case sys.Getenv(SCCEnv) != "":
		return OpenShift
	case sys.Getenv("KUBERNETES_SERVICE_HOST") != "" || sys.Exists(ServiceAccountDir):
		return Kubernetes
	case c == "podman" || sys.Exists("/run/.containerenv"):
		return Podman
	case c == "docker" || sys.Exists("/.dockerenv"):
		return Docker
	case c == "systemd-nspawn":
		return Nspawn
	}
	return Unknown
}

// Advice is how one runtime fixes a problem: words for people and, where the fix is flags of
// the run command, those flags (Results.FlagLine joins them into one line to copy).
type Advice struct {
	Text  string
	Flags []string
}

// Fixes holds the advice per runtime; pick takes the one for the detected runtime, or the
// words of all of them (and no flags: there is no one command line to give).
type Fixes map[Runtime]Advice

func (f Fixes) pick(rt Runtime) (string, []string) {
	if rt == OpenShift {
		if _, ok := f[rt]; !ok {
			rt = Kubernetes
		}
	}
	if a, ok := f[rt]; ok {
		return a.Text, a.Flags
	}
	var parts, texts []string
	for _, r := range []Runtime{Podman, Docker, Kubernetes, Nspawn} {
		if a, ok := f[r]; ok {
			parts = append(parts, string(r)+": "+a.Text)
			texts = appendNew(texts, a.Text)
		}
	}
	if len(texts) == 1 {
		return texts[0], nil // the same words for every runtime
	}
	return strings.Join(parts, "; "), nil
}

// SetFix sets r's Fix and Flags from f for runtime rt.
func (r *Result) SetFix(f Fixes, rt Runtime) { r.Fix, r.Flags = f.pick(rt) }

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
		rs = append(rs, checkAPIMounts(mounts, sysAdmin, rt))
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

var runFixes = Fixes{
	Podman: {"run with --systemd=always (podman then mounts tmpfs on /run, /run/lock and /tmp and a writable cgroup), or give the image an init-named entrypoint (docs/runtimes.md)",
		[]string{"--systemd=always"}},
	// Only /run is this check's flag: /run/lock is api-mounts', and /tmp (for a read-only
	// root) is not something systemd needs to start.
	Docker:     {"add --tmpfs /run --tmpfs /run/lock --tmpfs /tmp to docker run (and STOPSIGNAL SIGRTMIN+3 in the image)", []string{"--tmpfs /run"}},
	Kubernetes: {"mount emptyDirs with medium: Memory at /run, /run/lock and /tmp in the pod spec", nil},
	Nspawn:     {"systemd-nspawn mounts /run itself; check --tmpfs/--bind options that replace it", nil},
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
		r.SetFix(runFixes, rt)
	case sysAdmin:
		r.Severity, r.Message = Pass, "/run is not a mount, but the container has CAP_SYS_ADMIN: systemd mounts a tmpfs there itself"
	default:
		r.Severity = Fail
		r.Message = "/run is not a tmpfs and the container lacks CAP_SYS_ADMIN to mount one: systemd would exit at once with \"Failed to mount tmpfs at /run: Operation not permitted\""
		r.SetFix(runFixes, rt)
	}
	return r
}

// cgroupFixes are for a cgroup tree that is missing or read-only; the Docker line depends on
// the host's cgroup mode (cgroupFixesFor).
var cgroupFixes = Fixes{
	Podman: {"run with --systemd=always (rootful podman on a cgroup v1 or hybrid host; on cgroup v2 rootless works too)", []string{"--systemd=always"}},
	Docker: {"add --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw to docker run (this host has cgroup v1 or hybrid cgroups: systemd needs its name=systemd hierarchy writable)",
		[]string{"--cgroupns=host", "-v /sys/fs/cgroup:/sys/fs/cgroup:rw"}},
	Kubernetes: {"run on cgroup v2 nodes whose runtime gives the container a writable cgroup namespace (CRI-O 1.32+ or containerd 2.1+ for containers whose command is systemd or init; docs/runtimes.md)", nil},
	Nspawn:     {"systemd-nspawn sets up cgroups itself; check --property and --keep-unit options", nil},
}

// cgroupFixesFor returns cgroupFixes with Docker's words for the host's cgroup mode: the same
// flags on every mode (Docker's documented way to a writable tree), but only cgroup v1/hybrid
// is tested here (docs/runtimes.md says which cell is on paper).
func cgroupFixesFor(mode CgroupMode) Fixes {
	if mode != CgroupV2 {
		return cgroupFixes
	}
	f := Fixes{}
	for k, v := range cgroupFixes {
		f[k] = v
	}
	f[Docker] = Advice{"add --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw to docker run (cgroup v2 host: systemd needs the container's cgroup writable)", cgroupFixes[Docker].Flags}
	return f
}

// checkCgroup: systemd must create cgroups below its own: on cgroup v2 in the unified
// hierarchy, on v1 and hybrid hosts in its named hierarchy /sys/fs/cgroup/systemd.
func checkCgroup(sys *System, ms Mounts, sysAdmin bool, rt Runtime) Result {
	r := Result{Check: "cgroup"}
	mode := DetectCgroupMode(ms)
	fx := cgroupFixesFor(mode)
	m, ok := ms.At("/sys/fs/cgroup")
	if !ok {
		if sysAdmin {
			r.Severity, r.Message = Pass, "/sys/fs/cgroup is not mounted, but the container has CAP_SYS_ADMIN: systemd mounts it itself"
			return r
		}
		r.Severity = Fail
		r.Message = "/sys/fs/cgroup is not mounted and the container lacks CAP_SYS_ADMIN to mount it: systemd cannot manage services"
		r.SetFix(fx, rt)
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
			r.SetFix(fx, rt)
			return r
		}
		base, want, kind = "/sys/fs/cgroup/systemd", "name=systemd", "cgroup v1 (name=systemd)"
	default:
		r.Severity = Warn
		r.Message = fmt.Sprintf("/sys/fs/cgroup is a %s mount, which systemd may not understand", m.FSType)
		r.SetFix(fx, rt)
		return r
	}
	dir := base
	for _, c := range own {
		// A process that joined the container from outside (nsenter, some exec paths) sees
		// its cgroup as "/.." relative to the container's namespace: use the mount itself.
		if c.Controllers == want && (want != "" || c.Hierarchy == 0) && !strings.Contains(c.Path, "..") {
			if p := path.Join(base, c.Path); sys.Exists(p) {
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
		r.SetFix(fx, rt)
		if ns := ReadUserNS(sys); ns.Inner && !errors.Is(err, syscall.EROFS) {
			userNSCgroup(&r, ns, mode, rt)
		}
		return r
	}
	r.Severity, r.Message = Pass, fmt.Sprintf("%s at %s is writable", kind, dir)
	return r
}

// userNSCgroup explains a cgroup that is mounted writable but refuses the container's root
// because it runs in a user namespace. Flags cannot fix it (the runtime already mounted the
// hierarchy read-write, as --systemd=always does), so none are given: the fix is the host's.
func userNSCgroup(r *Result, ns UserNS, mode CgroupMode, rt Runtime) {
	r.Message += fmt.Sprintf("; the container runs in a user namespace (its root is uid %d on the host) and the cgroup belongs to the host's root", ns.HostRoot)
	r.Flags = nil
	switch mode {
	case CgroupV2:
		r.Fix = "the runtime must delegate the container's cgroup to its user namespace: podman does with --systemd=always or an init-named entrypoint (rootful and rootless, cgroup v2); Kubernetes: CRI-O 1.32+ or containerd 2.1+ with hostUsers: false (docs/runtimes.md)"
	default:
		r.Fix = "on a cgroup v1 or hybrid host no runtime flag hands the name=systemd cgroup to a user namespace: run without a user namespace here (drop --userns; rootful podman), " +
			"install appagent's OCI hook on the host (appagent oci-hook --print-config > /usr/share/containers/oci/hooks.d/appagent-cgroup.json) and run with --annotation " + ocihook.Annotation + "=true (docs/runtimes.md#user-namespaces), or boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1)"
	}
	if ns.Rootless && mode != CgroupV2 {
		// A hook runs as the user too and cannot take a cgroup from root: the host must give
		// the user a name=systemd cgroup of its own, and podman must start in it.
		r.Message = strings.Replace(r.Message, "runs in a user namespace", "runs rootless, in the user namespace of host uid "+strconv.Itoa(ns.HostRoot)+",", 1)
		r.Fix = fmt.Sprintf("rootless on a cgroup v1 or hybrid host: no flag gives an unprivileged user a cgroup; as root, give the user one "+
			"(mkdir /sys/fs/cgroup/systemd/USER && chown -R %[1]d: /sys/fs/cgroup/systemd/USER), and start podman from a shell in it "+
			"(echo $$ > /sys/fs/cgroup/systemd/USER/cgroup.procs; docs/runtimes.md#rootless-podman), or boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1)", ns.HostRoot)
	}
	if rt == Kubernetes || rt == OpenShift {
		r.Fix = "use cgroup v2 nodes whose runtime delegates the cgroup to the pod's user namespace: CRI-O 1.32+ or containerd 2.1+ (hostUsers: false; docs/kubernetes.md)"
	}
}

// volumeFixes name the volume path as %[1]s (volumeFix fills it in).
var volumeFixes = Fixes{
	Podman:     {"podman run -v NAME:%[1]s (a named volume) or -v /host/dir:%[1]s", []string{"-v NAME:%[1]s"}},
	Docker:     {"docker run -v NAME:%[1]s (a named volume) or -v /host/dir:%[1]s", []string{"-v NAME:%[1]s"}},
	Kubernetes: {"add a volumeMounts entry with mountPath: %[1]s backed by a PersistentVolumeClaim", nil},
	Nspawn:     {"systemd-nspawn --bind=/host/dir:%[1]s", []string{"--bind=/host/dir:%[1]s"}},
}

// volumeFix sets r's fix from volumeFixes for the volume path vol.
func (r *Result) volumeFix(rt Runtime, vol string) {
	text, flags := volumeFixes.pick(rt)
	r.Fix = fmt.Sprintf(text, vol)
	r.Flags = nil
	for _, f := range flags {
		r.Flags = append(r.Flags, fmt.Sprintf(f, vol))
	}
}

// anonymousVolume is where podman and Docker keep a volume that has no name: the image's
// VOLUME, when the run command names none. Its directory is a 64-hex id.
var anonymousVolume = regexp.MustCompile(`/volumes/[0-9a-f]{64}/_data$`)

func checkVolumeMount(cfg *config.Config, sys *System, ms Mounts, rt Runtime) Result {
	vol := cfg.Volume.Path
	r := Result{Check: "volume-mount"}
	if m, ok := ms.At(vol); ok {
		if anonymousVolume.MatchString(m.Root) {
			// The image's VOLUME gave it, because the run command named none: it goes with
			// the container (podman rm -v, --rm, docker-compose down -v).
			r.Severity = Warn
			if cfg.Volume.RequireMount {
				r.Severity = Fail
			}
			r.Message = fmt.Sprintf("%s is an anonymous volume (%s): removing the container with -v, running it with --rm or docker-compose down -v deletes the data", vol, m.Root)
			if cfg.Volume.RequireMount {
				r.Message += fmt.Sprintf(" (the image sets volume.require_mount in %s)", cfg.File)
			}
			r.SetFix(Fixes{
				Podman: {fmt.Sprintf("name the volume: -v NAME:%s (podman volume create NAME first, or let run create it)", vol), []string{"-v NAME:" + vol}},
				Docker: {fmt.Sprintf("name the volume: -v NAME:%s", vol), []string{"-v NAME:" + vol}},
			}, rt)
			return r
		}
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
	r.volumeFix(rt, vol)
	return r
}

func checkVolumeWritable(cfg *config.Config, sys *System, rt Runtime) Result {
	vol := cfg.Volume.Path
	r := Result{Check: "volume-writable"}
	fi, err := sys.Stat(vol)
	switch {
	case isNotExist(err):
		r.Severity, r.Message = Warn, fmt.Sprintf("%s does not exist yet; init creates it in the container's layer", vol)
		r.volumeFix(rt, vol)
		return r
	case err != nil:
		r.Severity, r.Message = Fail, fmt.Sprintf("cannot stat the volume %s: %v", vol, err)
		return r
	case !fi.IsDir():
		r.Severity, r.Message = Fail, fmt.Sprintf("the volume path %s is not a directory", vol)
		r.volumeFix(rt, vol)
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
