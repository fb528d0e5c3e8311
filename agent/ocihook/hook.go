package ocihook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Annotation turns the hook on for a container (the hooks.d file matches on it), so that a
// host that installs the hook changes no other container.
const Annotation = "run.appagent.cgroup-delegate"

// State is the part of the OCI runtime state (runtime-spec, "State") the hook reads.
type State struct {
	Pid int `json:"pid"`
}

// Host is where the hook finds the container's process and the cgroup tree (tests point
// them at temporary directories).
type Host struct {
	Proc   string // /proc
	Cgroup string // the name=systemd hierarchy: /sys/fs/cgroup/systemd
}

// DefaultHost is the real one.
var DefaultHost = Host{Proc: "/proc", Cgroup: "/sys/fs/cgroup/systemd"}

// maxState bounds the state read from stdin: it is a small JSON object.
const maxState = 1 << 20

// Result says what the hook did, for its one line of output.
type Result struct {
	Dir      string
	UID, GID int
	Skipped  string // why nothing was done ("" when the cgroup was given)
}

// Delegate reads the container's state and gives its name=systemd cgroup directory (and what
// is in it) to the host uid and gid that uid 0 and gid 0 of the container map to. A container
// without a user namespace, or on a host without the name=systemd hierarchy, is left alone.
func Delegate(h Host, state io.Reader) (Result, error) {
	data, err := io.ReadAll(io.LimitReader(state, maxState+1))
	if err != nil {
		return Result{}, fmt.Errorf("ocihook: read the container state: %w", err)
	}
	if len(data) > maxState {
		return Result{}, fmt.Errorf("ocihook: the container state on stdin is larger than %d bytes", maxState)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return Result{}, fmt.Errorf("ocihook: the container state on stdin is not the runtime's JSON: %w", err)
	}
	if st.Pid <= 0 {
		return Result{}, fmt.Errorf("ocihook: the container state has no pid (run the hook at the createRuntime stage)")
	}
	pid := strconv.Itoa(st.Pid)
	uid, err := rootOf(filepath.Join(h.Proc, pid, "uid_map"))
	if err != nil {
		return Result{}, err
	}
	gid, err := rootOf(filepath.Join(h.Proc, pid, "gid_map"))
	if err != nil {
		return Result{}, err
	}
	if uid == 0 && gid == 0 {
		return Result{Skipped: "no user namespace"}, nil
	}
	if _, err := os.Stat(h.Cgroup); errors.Is(err, fs.ErrNotExist) {
		return Result{Skipped: "no name=systemd hierarchy (cgroup v2 host: the runtime delegates)"}, nil
	}
	rel, err := systemdCgroup(filepath.Join(h.Proc, pid, "cgroup"))
	if err != nil {
		return Result{}, err
	}
	dir := filepath.Join(h.Cgroup, rel)
	if rel == "/" || !strings.HasPrefix(dir, filepath.Clean(h.Cgroup)+"/") {
		return Result{}, fmt.Errorf("ocihook: the container's name=systemd cgroup %q is the root or outside %s: refusing to give it away", rel, h.Cgroup)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return Result{}, fmt.Errorf("ocihook: give %s to %d:%d: %w", dir, uid, gid, err)
	}
	return Result{Dir: dir, UID: uid, GID: gid}, nil
}

// rootOf returns the host id that id 0 maps to in a uid_map or gid_map (0 for the initial
// namespace's identity map).
func rootOf(mapFile string) (int, error) {
	data, err := os.ReadFile(mapFile)
	if err != nil {
		return 0, fmt.Errorf("ocihook: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "0" {
			continue
		}
		out, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("ocihook: %s: %q: %w", mapFile, line, err)
		}
		return int(out), nil
	}
	return 0, fmt.Errorf("ocihook: %s maps no id 0: the container's root is not mapped, systemd cannot run as root there", mapFile)
}

// systemdCgroup returns the path of the name=systemd line of a /proc/PID/cgroup file.
func systemdCgroup(cgroupFile string) (string, error) {
	data, err := os.ReadFile(cgroupFile)
	if err != nil {
		return "", fmt.Errorf("ocihook: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] == "name=systemd" {
			return filepath.Clean(parts[2]), nil
		}
	}
	return "", fmt.Errorf("ocihook: %s has no name=systemd line: not a cgroup v1 or hybrid host", cgroupFile)
}

// Config is the hooks.d file (containers' hooks schema 1.0.0) that runs binary as the hook
// for containers annotated Annotation=true.
func Config(binary string) ([]byte, error) {
	c := map[string]any{
		"version": "1.0.0",
		"hook":    map[string]any{"path": binary, "args": []string{filepath.Base(binary), "oci-hook"}},
		"when":    map[string]any{"annotations": map[string]string{"^" + strings.ReplaceAll(Annotation, ".", `\.`) + "$": "^true$"}},
		"stages":  []string{"createRuntime"},
	}
	b, err := json.MarshalIndent(c, "", "  ")
	return append(b, '\n'), err
}
