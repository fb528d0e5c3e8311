package units

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// A unit whose sandboxing needs a mount namespace fails with status 226/NAMESPACE where the
// container cannot create one: podman and Docker drop CAP_SYS_ADMIN by default. systemd
// (247+, execute.c insist_on_sandboxing) then runs a unit anyway, without its namespace
// ("assuming containerized execution"), unless one of these settings would make that unit
// something else than it says: those fail. Users see only "226/NAMESPACE".

// SandboxProperties are the service properties (systemd.exec(5)) for which systemd insists
// on the mount namespace.
var SandboxProperties = []string{
	"DynamicUser", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
	"RootDirectory", "RootImage", "MountImages", "ExtensionImages", "ExtensionDirectories", "LogNamespace",
}

// Sandboxing names the settings in props (property → value as `systemctl show` prints it:
// yes/no, a path, a list) for which systemd insists on a mount namespace, as NAME=VALUE,
// sorted.
func Sandboxing(props map[string]string) []string {
	var set []string
	for _, p := range SandboxProperties {
		v := strings.TrimSpace(props[p])
		switch v {
		case "", "no", "false", "0":
			continue
		}
		set = append(set, p+"="+v)
	}
	sort.Strings(set)
	return set
}

// NamespaceStatus is systemd's exit status when it could not set up a unit's namespace.
const NamespaceStatus = "226"

// NamespaceFix is what to do when a unit cannot get its mount namespace, for the failure
// report and doctor.
const NamespaceFix = "give the container CAP_SYS_ADMIN (podman/docker run --cap-add SYS_ADMIN; Kubernetes: container.capabilities in the declaration for `appagent kube`), or turn those settings off for this unit with a drop-in the image ships (docs/runtimes.md, \"Sandboxed units\")"

// NamespaceWhy explains a 226 exit of a unit with the given sandbox settings.
func NamespaceWhy(settings []string) string {
	what := "its sandboxing (DynamicUser=, BindPaths=, TemporaryFileSystem=, RootDirectory= or the like)"
	if len(settings) > 0 {
		what = strings.Join(settings, ", ")
	}
	return fmt.Sprintf("systemd could not set up the mount namespace that %s needs: this container cannot create mount namespaces (it lacks CAP_SYS_ADMIN, which podman and Docker drop by default); fix: %s", what, NamespaceFix)
}

// ExplainExit says why a unit's process exited with status, where systemd's own words do
// not ("226/NAMESPACE"); "" when there is nothing to add. settings reads the unit's
// properties (SandboxProperties); the agent reads them over D-Bus, as a child process of
// a stopping agent would be killed with it. The log forwarder puts the answer right after
// systemd's message, for every unit (agent/logfwd, Task.Explain).
func ExplainExit(unit string, status int, settings func(unit string, names []string) (map[string]string, error)) string {
	if strconv.Itoa(status) != NamespaceStatus {
		return ""
	}
	var set []string
	if settings != nil {
		if props, err := settings(unit, SandboxProperties); err == nil {
			set = Sandboxing(props)
		}
	}
	return NamespaceWhy(set)
}
