package doctor

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/preflight"
	"golang.org/x/sys/unix"
)

// checkLock reads /proc/locks for the volume's two locks: the keeper's exclusive one and the
// agent's shared one (agent/upgrade). A holder whose PID this namespace can see is this
// container; a holder shown as PID 0 or not in /proc is another container. It does not take
// a lock: that would race the volume helper.
func checkLock(cfg *config.Config, sys *preflight.System) preflight.Result {
	r := preflight.Result{Check: "volume-lock"}
	lock := path.Join(cfg.Volume.Path, layout.LockFile)
	data, err := sys.ReadFile("/proc/locks")
	if err != nil {
		if _, serr := sys.Stat(lock); serr != nil {
			r.Severity, r.Message = preflight.Info, fmt.Sprintf("%s does not exist: no container has used this volume yet", lock)
			return r
		}
		r.Severity, r.Message = preflight.Info, fmt.Sprintf("cannot read /proc/locks: %v", err)
		return r
	}
	type hold struct {
		who, file  string
		ours, them bool
		pid        int
		exists     bool
	}
	holds := []*hold{{who: "keeper", file: lock}, {who: "agent", file: path.Join(cfg.Volume.Path, layout.AgentLockFile)}}
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
			r.Severity = preflight.Fail
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
			if pid > 0 && sys.Exists(fmt.Sprintf("/proc/%d", pid)) {
				h.ours, h.pid = true, pid
			} else {
				h.them = true
			}
		}
	}
	keeper, agent := holds[0], holds[1]
	switch {
	case !keeper.exists:
		r.Severity, r.Message = preflight.Info, fmt.Sprintf("%s does not exist: no container has used this volume yet", lock)
	case keeper.them || agent.them:
		r.Severity = preflight.Fail
		r.Message = fmt.Sprintf("the volume's lock is held by a process outside this container: another container uses the volume (%s)", lock)
		r.Fix = "stop the other container (podman ps --filter volume=NAME) before starting this one"
	case keeper.ours && agent.ours:
		r.Severity, r.Message = preflight.Pass, fmt.Sprintf("%s is held by this container (keeper pid %d, agent pid %d)", lock, keeper.pid, agent.pid)
	case keeper.ours && !agent.exists: // a volume an image before the agent's lock set up
		r.Severity, r.Message = preflight.Pass, fmt.Sprintf("%s is held by this container (pid %d)", lock, keeper.pid)
	case keeper.ours || agent.ours:
		h, gone := keeper, "agent (appagent.service)"
		if agent.ours {
			h, gone = agent, "keeper"
		}
		r.Severity = preflight.Warn
		r.Message = fmt.Sprintf("only the %s holds the volume (pid %d, %s): the %s is gone; a second container is still refused", h.who, h.pid, h.file, gone)
		r.Fix = "restart the container when convenient, so that both locks hold again"
	case !pid1IsSystemd(sys):
		r.Severity, r.Message = preflight.Info, fmt.Sprintf("nothing holds %s: no container uses the volume now", lock)
	default:
		r.Severity = preflight.Warn
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
