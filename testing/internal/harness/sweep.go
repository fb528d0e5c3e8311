package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procsFile, in a resource directory under OwnerDir, lists the processes to kill if the
// directory is found stale: one "PID START GROUP" line each (GROUP 1: kill its process group too).
const procsFile = "procs"

// RecordProc appends a process to dir's procs file so that a later sweep can kill it if this
// test process dies without cleaning up (a test binary killed by -timeout runs no t.Cleanup).
func RecordProc(dir string, pid int, group bool) error {
	start, err := StartTime(pid)
	if err != nil {
		return fmt.Errorf("harness: record pid %d: %w", pid, err)
	}
	g := 0
	if group {
		g = 1
	}
	f, err := os.OpenFile(filepath.Join(dir, procsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("harness: record pid %d: %w", pid, err)
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%d %d %d\n", pid, start, g)
	return err
}

// KillRecorded kills (SIGKILL) the live processes listed in dir's procs file, in order.
func KillRecorded(dir string) {
	f, err := os.Open(filepath.Join(dir, procsFile))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var pid, g int
		var start uint64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d %d", &pid, &start, &g); err != nil {
			continue
		}
		if !Alive(pid, start) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if g == 1 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}

// MountsUnder lists the mount points at or below dir (from /proc/self/mountinfo), deepest first.
func MountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out, sc.Err()
}

// unescapeMount decodes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// UnmountAll unmounts every mount at or below dir, deepest first; a busy mount is detached.
func UnmountAll(dir string) error {
	var errs []error
	for attempt := 0; attempt < 3; attempt++ {
		mps, err := MountsUnder(dir)
		if err != nil {
			return fmt.Errorf("harness: read mounts: %w", err)
		}
		if len(mps) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, mp := range mps {
			if err := syscall.Unmount(mp, 0); err != nil {
				if err2 := syscall.Unmount(mp, syscall.MNT_DETACH); err2 != nil && err2 != syscall.EINVAL {
					errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err2))
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if mps, _ := MountsUnder(dir); len(mps) > 0 {
		return fmt.Errorf("harness: mounts left under %s: %s (%w)", dir, strings.Join(mps, ", "), errors.Join(errs...))
	}
	return nil
}

// RemoveDir kills the processes recorded in dir and its direct subdirectories, unmounts
// everything below it and removes it. It refuses to remove while a mount is left (removing
// through a mount would delete the mounted files).
func RemoveDir(dir string) error {
	KillRecorded(dir)
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				KillRecorded(filepath.Join(dir, e.Name()))
			}
		}
	}
	// Give killed processes a moment to release their mounts and files.
	time.Sleep(100 * time.Millisecond)
	if err := UnmountAll(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("harness: remove %s: %w", dir, err)
	}
	return nil
}

var sweepOnce sync.Once

// Sweep removes, once per test process, what earlier test processes that are no longer alive
// left under WorkDir: their processes (containers), mounts and directories. The first call
// returns what it did, for the test log; later calls do nothing. extra runs for each stale resource directory before removal
// (a harness removes its own out-of-tree state there).
func Sweep(extra func(resourceDir string)) []string {
	var msgs []string
	sweepOnce.Do(func() { msgs = SweepNow(extra) })
	return msgs
}

// SweepNow is Sweep without the once-per-process guard.
func SweepNow(extra func(resourceDir string)) []string {
	var msgs []string
	func() {
		ents, err := os.ReadDir(WorkDir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			if _, _, ok := ParseOwner(e.Name()); !ok || OwnerAlive(e.Name()) {
				continue
			}
			dir := filepath.Join(WorkDir, e.Name())
			if extra != nil {
				if subs, err := os.ReadDir(dir); err == nil {
					for _, s := range subs {
						if s.IsDir() {
							extra(filepath.Join(dir, s.Name()))
						}
					}
				}
			}
			if err := RemoveDir(dir); err != nil {
				msgs = append(msgs, fmt.Sprintf("sweep: %v", err))
				continue
			}
			msgs = append(msgs, fmt.Sprintf("sweep: removed leftovers of dead test process %s", e.Name()))
		}
	}()
	return msgs
}

// RemoveOwnerDir removes this process's own work directory (the appagent binary, contexts,
// anything a cleanup missed); TestMain calls it after the tests ran.
func RemoveOwnerDir() error {
	return RemoveDir(filepath.Join(WorkDir, Owner()))
}
