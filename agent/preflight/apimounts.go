package preflight

import (
	"fmt"
	"slices"
	"strings"
)

// apiMount is a file system systemd mounts at start when the runtime did not, and dies
// without ("Failed to mount API filesystems … Exiting PID 1", exit 255): the entries of
// systemd's mount table (src/shared/mount-setup.c, 252) flagged MNT_FATAL|MNT_IN_CONTAINER.
// systemd skips a path that is a mount point already; mounting needs CAP_SYS_ADMIN, which
// Docker and Kubernetes do not give. /run has its own check (run-tmpfs).
type apiMount struct {
	path, fstype string
	fixes        Fixes
}

// theRuntimeMounts is the advice for what every runtime mounts unless told not to.
func theRuntimeMounts(p string) Fixes {
	text := "every runtime mounts " + p + " itself: look for an option that replaces it (--mount, --tmpfs, -v, volumeMounts)"
	return Fixes{Podman: {text, nil}, Docker: {text, nil}, Kubernetes: {text, nil}, Nspawn: {text, nil}}
}

var apiMounts = []apiMount{
	{"/proc", "proc", theRuntimeMounts("/proc")},
	{"/sys", "sysfs", theRuntimeMounts("/sys")},
	{"/dev", "devtmpfs", theRuntimeMounts("/dev")},
	{"/dev/shm", "tmpfs", theRuntimeMounts("/dev/shm")},
	// Since systemd 250 /run/lock is a tmpfs of its own: --tmpfs /run alone is not enough.
	{"/run/lock", "tmpfs", Fixes{
		Podman:     runFixes[Podman],
		Docker:     {"add --tmpfs /run/lock to docker run (systemd mounts a tmpfs there itself when it can, and exits when it cannot)", []string{"--tmpfs /run/lock"}},
		Kubernetes: {"mount an emptyDir with medium: Memory at /run/lock in the pod spec", nil},
		Nspawn:     runFixes[Nspawn],
	}},
}

// checkAPIMounts: every API file system systemd would mount itself is a mount point already,
// or the container may mount (CAP_SYS_ADMIN). All missing ones are named in one result.
func checkAPIMounts(ms Mounts, sysAdmin bool, rt Runtime) Result {
	r := Result{Check: "api-mounts"}
	var missing []string
	var texts []string
	for _, a := range apiMounts {
		if _, ok := ms.At(a.path); ok {
			continue
		}
		missing = append(missing, a.path)
		text, flags := a.fixes.pick(rt)
		texts = appendNew(texts, text)
		r.Flags = appendNew(r.Flags, flags...)
	}
	switch {
	case len(missing) == 0:
		r.Severity, r.Message = Pass, "/proc, /sys, /dev, /dev/shm and /run/lock are mounted"
		r.Flags = nil
	case sysAdmin:
		r.Severity = Pass
		r.Message = fmt.Sprintf("%s not mounted, but the container has CAP_SYS_ADMIN: systemd mounts them itself", strings.Join(missing, ", "))
		r.Flags = nil
	default:
		r.Severity = Fail
		r.Message = fmt.Sprintf("%s not a mount point and the container lacks CAP_SYS_ADMIN to mount one: systemd would exit at once with \"Failed to mount %s at %s: Operation not permitted\"",
			isAre(missing), fsTypeOf(missing[0]), missing[0])
		r.Fix = strings.Join(texts, "; ")
	}
	return r
}

func fsTypeOf(p string) string {
	for _, a := range apiMounts {
		if a.path == p {
			return a.fstype
		}
	}
	return "tmpfs"
}

// isAre is "/run/lock is" or "/dev/shm, /run/lock are".
func isAre(paths []string) string {
	if len(paths) == 1 {
		return paths[0] + " is"
	}
	return strings.Join(paths, ", ") + " are"
}

// appendNew appends the items of add that list lacks.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
