package initstage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/appagent/appagent/agent/preflight"
)

// RunDirs are emptied of an earlier start's leftovers (CleanStaleRun).
var RunDirs = []string{"/run", "/run/lock"}

// bootMark is what systemd makes in /run when it boots (sd_booted(3) tests it); a fresh /run
// never has it before systemd starts, whatever the runtime put there (nspawn's /run/host and
// /run/systemd/nspawn, podman's /run/.containerenv).
const bootMark = "/run/systemd/system"

// CleanStaleRun empties /run and /run/lock of what an earlier start of this container left.
// systemd expects them fresh at boot (a tmpfs the runtime mounts for each start), but
// Kubernetes keeps an emptyDir's content across restarts of a container in its pod, and
// podman kube play 4.3 makes emptyDirs volumes: journald then fails with "Failed to open
// runtime journal: No medium found" and units find PID files and sockets of processes that
// are gone. It acts only when the mark of a boot is there (/run/systemd/system); it never touches
// a mount point or anything under one (the runtime's /run/secrets, /run/.containerenv, the
// parameter files) and says what it removed.
//
// root is "/" but in tests; mountinfo is /proc/self/mountinfo's text.
func CleanStaleRun(root, mountinfo string, out io.Writer) error {
	if _, err := os.Lstat(filepath.Join(root, bootMark)); err != nil {
		return nil
	}
	ms, err := preflight.ParseMountinfo(mountinfo)
	if err != nil {
		return fmt.Errorf("init: clean stale /run: %w", err)
	}
	mounts := map[string]bool{}
	for _, m := range ms {
		mounts[filepath.Join(root, m.Point)] = true
	}
	var removed []string
	for _, dir := range RunDirs {
		n, err := cleanDir(filepath.Join(root, dir), mounts)
		if err != nil {
			return err
		}
		removed = append(removed, n...)
	}
	if len(removed) > 0 {
		for i, r := range removed {
			removed[i] = strconv.Quote(strings.TrimPrefix(r, strings.TrimSuffix(root, "/"))) // names from an earlier boot may hold anything
		}
		fmt.Fprintf(out, "appagent init: this container ran before and its /run was kept (a Kubernetes emptyDir keeps it across restarts); removed what that start left: %s\n",
			strings.Join(removed, " "))
	}
	return nil
}

// cleanDir removes dir's entries that are neither mount points nor hold one.
func cleanDir(dir string, mounts map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("init: clean stale %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if holdsMount(p, mounts) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("init: clean stale %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

func holdsMount(p string, mounts map[string]bool) bool {
	if mounts[p] {
		return true
	}
	for m := range mounts {
		if strings.HasPrefix(m, p+"/") {
			return true
		}
	}
	return false
}
