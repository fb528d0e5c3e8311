package upgrade

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/layout"
)

// StateDir is the volume's state directory, relative to the volume root.
const StateDir = layout.StateDir

// LockFile and AgentLockFile are the volume's locks, relative to the volume. A container
// holds LockFile exclusively from init on (the keeper keeps it), and AgentLockFile shared from
// the agent (appagent.service); a start needs both free, so that killing any one appagent
// process (the keeper, the agent) never lets a second container onto the volume.
const (
	LockFile      = layout.LockFile
	AgentLockFile = layout.AgentLockFile
)

// Lock takes the exclusive lock of the volume (an flock on <volume>/.appagent/lock) without
// waiting, and checks that no agent holds <volume>/.appagent/lock.agent. A volume in use by another container gives exitcode.VolumeLocked with a message
// that names the holder. The returned file holds the lock: keep it open for the container's
// life (the keeper does). Its fd is left inheritable (no FD_CLOEXEC) so it survives exec.
func Lock(volume string) (*os.File, error) {
	// No volume mounted: the mount point may be missing from the image (preflight warns
	// about the data living in the container's layer then).
	if _, err := os.Lstat(volume); os.IsNotExist(err) {
		_ = os.MkdirAll(volume, 0o755)
	}
	v, err := openVFS(volume)
	if err != nil {
		return nil, exitcode.With(exitcode.Upgrade, err)
	}
	defer v.Close()
	if err := ensureStateDir(v); err != nil {
		return nil, exitcode.With(exitcode.Upgrade, err)
	}
	rel := LockFile
	if st, err := v.lstat(rel); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, exitcode.Withf(exitcode.Upgrade, "%s is not a regular file; remove it", v.abs(rel))
	}
	fd, err := v.open(rel, unix.O_RDWR|unix.O_CREAT|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, exitcode.Withf(exitcode.Upgrade, "opening the volume lock %s: %w", v.abs(rel), err)
	}
	f := os.NewFile(uintptr(fd), v.abs(rel))
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, exitcode.Withf(exitcode.Upgrade, "%s is not a regular file; remove it", v.abs(rel))
	}
	if st.Nlink > 1 {
		// init writes the holder into the lock: through a hard link planted on the volume,
		// that would truncate and write a file anywhere on the volume's filesystem.
		f.Close()
		return nil, exitcode.Withf(exitcode.Upgrade, "%s has %d names (a hard link to another file, maybe outside the volume), and appagent writes into it; remove %s (appagent makes a new one), then start again",
			v.abs(rel), st.Nlink, v.abs(rel))
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := make([]byte, 512)
		n, _ := unix.Pread(fd, holder, 0)
		f.Close()
		if err == unix.EWOULDBLOCK {
			who := strings.TrimSpace(string(holder[:max(n, 0)]))
			if who == "" {
				who = "unknown"
			}
			return nil, exitcode.Withf(exitcode.VolumeLocked,
				"the volume %s is in use by another container (lock %s held by: %s); stop that container, or give this one its own volume",
				volume, v.abs(rel), who)
		}
		return nil, exitcode.Withf(exitcode.Upgrade, "locking %s: %w", v.abs(rel), err)
	}
	// The keeper of another container may be gone while its agent still runs there.
	if err := probeAgentLock(v, volume); err != nil {
		f.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("host=%s pid=%d since=%s\n", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	_ = unix.Ftruncate(fd, 0)
	_, _ = unix.Pwrite(fd, []byte(info), 0)
	// Inheritable: the lock must survive the exec of systemd until the keeper holds it.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		f.Close()
		return nil, exitcode.Withf(exitcode.Upgrade, "lock fd: %w", err)
	}
	return f, nil
}

// ensureStateDir creates <volume>/.appagent (0700) and refuses anything but a real directory.
func ensureStateDir(v *vfs) error {
	if err := v.mkdir(StateDir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", v.abs(StateDir), err)
	}
	return nil
}

// openLockFile opens (creating) a lock file under the state directory, refusing anything but
// a regular file.
func openLockFile(v *vfs, rel string) (*os.File, error) {
	if st, err := v.lstat(rel); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, exitcode.Withf(exitcode.Upgrade, "%s is not a regular file; remove it", v.abs(rel))
	}
	fd, err := v.open(rel, unix.O_RDWR|unix.O_CREAT|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, exitcode.Withf(exitcode.Upgrade, "opening the volume lock %s: %w", v.abs(rel), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, exitcode.Withf(exitcode.Upgrade, "%s is not a regular file; remove it", v.abs(rel))
	}
	return os.NewFile(uintptr(fd), v.abs(rel)), nil
}

// probeAgentLock fails when an agent holds AgentLockFile: another container runs on the
// volume. It takes the lock exclusively for a moment and lets go.
func probeAgentLock(v *vfs, volume string) error {
	f, err := openLockFile(v, AgentLockFile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if err == unix.EWOULDBLOCK {
			return exitcode.Withf(exitcode.VolumeLocked,
				"the volume %s is in use by another container: its agent holds %s (that container's init or keeper is gone, its systemd still runs); stop that container, or give this one its own volume",
				volume, v.abs(AgentLockFile))
		}
		return exitcode.Withf(exitcode.Upgrade, "locking %s: %w", v.abs(AgentLockFile), err)
	}
	return nil
}

// AgentLock takes AgentLockFile shared, for the agent: while it holds it, no other container's
// init gets the volume, even when this container's keeper is killed. An init probing the lock
// holds it for a moment only, so it waits up to wait for that.
func AgentLock(volume string, wait time.Duration) (*os.File, error) {
	v, err := openVFS(volume)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	if err := ensureStateDir(v); err != nil {
		return nil, err
	}
	f, err := openLockFile(v, AgentLockFile)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != unix.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", v.abs(AgentLockFile), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
