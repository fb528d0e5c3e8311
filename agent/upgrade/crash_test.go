package upgrade

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// The crash tests run Sync in a child process (this test binary, re-executed) and kill -9 it
// in the middle of the work, then run Sync again and compare the volume with one made by an
// undisturbed run.

const helperEnv = "APPAGENT_TEST_SYNC_HELPER"

// TestSyncHelperProcess is the child: it syncs the volume and exits with the error's code.
func TestSyncHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process only")
	}
	if n, err := strconv.ParseInt(os.Getenv(StallEnv), 10, 64); err == nil && n > 0 {
		testStallAfter = n
	}
	parts := strings.SplitN(spec, "|", 3) // root|volume|config
	cfg, rep := config.Parse(parts[2], []byte(read(t, parts[2])))
	if rep.HasErrors() {
		os.Exit(3)
	}
	lock, err := Lock(parts[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(int(exitcode.Of(err)))
	}
	defer lock.Close()
	if _, err := Sync(Options{Config: cfg, Root: parts[0], Volume: parts[1], Out: os.Stdout, ProgressEvery: 50 * time.Millisecond}); err != nil {
		fmt.Println(err)
		os.Exit(int(exitcode.Of(err)))
	}
	os.Exit(0)
}

// child starts the helper on root/vol.
func child(t *testing.T, root, vol string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncHelperProcess$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+root+"|"+vol+"|"+filepath.Join(root, "etc/appagent/appagent.yaml")), env...)
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	return cmd, bufio.NewScanner(pr)
}

// killAfterStall runs the helper with the stall knob and kills -9 it once it stalls.
func killAfterStall(t *testing.T, root, vol string, n int) {
	t.Helper()
	cmd, sc := child(t, root, vol, fmt.Sprintf("%s=%d", StallEnv, n))
	stalled := make(chan bool, 1)
	go func() {
		for sc.Scan() {
			if strings.Contains(sc.Text(), "stalling for the test") {
				stalled <- true
				break
			}
		}
		for sc.Scan() {
		}
		stalled <- false
	}()
	select {
	case ok := <-stalled:
		if !ok {
			t.Logf("helper finished before %d files", n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("helper did not stall")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func runChild(t *testing.T, root, vol string) string {
	t.Helper()
	cmd, sc := child(t, root, vol)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out.String())
	}
	return out.String()
}

// snapshot lists a volume: path, type, mode, owner, content hash or link target. The
// backup's name (it has the time) and the lock's content (it has the pid) are left out.
func snapshot(t *testing.T, vol string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(vol, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(vol, p)
		if rel == ".appagent/lock" {
			return nil
		}
		if strings.HasPrefix(rel, ".appagent/backup/") {
			parts := strings.SplitN(rel, "/", 4)
			parts[2] = "X"
			rel = strings.Join(parts, "/")
		}
		fi, _ := os.Lstat(p)
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %s %o %d:%d", rel, fi.Mode().Type(), fi.Mode().Perm(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			tg, _ := os.Readlink(p)
			line += " -> " + tg
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			h := sha256.Sum256(data)
			line += " " + hex.EncodeToString(h[:8])
			if fi.ModTime().IsZero() {
				line += " no-mtime"
			}
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func diffLines(a, b string) string {
	am := map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		am[l] = true
	}
	bm := map[string]bool{}
	var out bytes.Buffer
	for _, l := range strings.Split(b, "\n") {
		bm[l] = true
		if !am[l] {
			fmt.Fprintf(&out, "+ %s\n", l)
		}
	}
	for _, l := range strings.Split(a, "\n") {
		if !bm[l] {
			fmt.Fprintf(&out, "- %s\n", l)
		}
	}
	return out.String()
}

func crashFixture(t *testing.T) (root1, root2 string, userEdit func(vol string)) {
	files1 := map[string]string{}
	for i := 0; i < 300; i++ {
		files1[fmt.Sprintf("var/lib/app/d%d/f%03d", i%7, i)] = strings.Repeat(fmt.Sprint(i), 50+i*30)
	}
	for k, v := range filesV1 {
		files1[k] = v
	}
	root1, _ = testImage(t, files1, yamlV1)
	files2 := map[string]string{}
	for k, v := range files1 {
		files2[k] = v
	}
	for i := 0; i < 300; i += 4 {
		files2[fmt.Sprintf("var/lib/app/d%d/f%03d", i%7, i)] = "v2 " + fmt.Sprint(i)
	}
	delete(files2, "etc/app/gone.conf")
	delete(files2, "etc/app/sub/x.conf")
	files2["etc/app/sub"] = "a file now"
	files2["etc/app/a.conf"] = "A2"
	files2["etc/app/b.conf"] = "B2"
	files2["etc/app/new.conf"] = "N2"
	files2["usr/libexec/appagent/migrations/1-2"] = "#!/bin/sh\necho m > \"$APPAGENT_VOLUME/var/lib/app/migrated\"\n"
	root2, _ = testImage(t, files2, yamlV1+"  format: 2\n")
	return root1, root2, func(vol string) {
		write(t, vol+"/etc/app/b.conf", "B-user")
		write(t, vol+"/var/lib/app/d0/f000", "user's")
	}
}

func TestKillDuringPopulate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	root1, _, _ := crashFixture(t)
	want := t.TempDir()
	runChild(t, root1, want)
	for _, n := range []int{1, 40, 150, 299} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vol := t.TempDir()
			killAfterStall(t, root1, vol, n)
			if _, err := os.Stat(vol + "/.appagent/txn"); err != nil {
				t.Errorf("no txn after a kill: %v", err)
			}
			runChild(t, root1, vol)
			if d := diffLines(snapshot(t, want), snapshot(t, vol)); d != "" {
				t.Errorf("killed after %d files, then restarted: the volume differs from an undisturbed run:\n%s", n, d)
			}
		})
	}
}

func TestKillDuringPopulateAnyMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	root1, _, _ := crashFixture(t)
	want := t.TempDir()
	runChild(t, root1, want)
	for _, delay := range []time.Duration{0, 1 * time.Millisecond, 3 * time.Millisecond, 6 * time.Millisecond, 12 * time.Millisecond, 25 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			vol := t.TempDir()
			cmd, sc := child(t, root1, vol)
			go func() {
				for sc.Scan() {
				}
			}()
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			runChild(t, root1, vol)
			if d := diffLines(snapshot(t, want), snapshot(t, vol)); d != "" {
				t.Errorf("killed after %s: the volume differs from an undisturbed run:\n%s", delay, d)
			}
		})
	}
}

func TestKillDuringUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	root1, root2, edit := crashFixture(t)
	want := t.TempDir()
	runChild(t, root1, want)
	edit(want)
	runChild(t, root2, want)
	for _, n := range []int{1, 2, 5, 20, 60} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vol := t.TempDir()
			runChild(t, root1, vol)
			edit(vol)
			killAfterStall(t, root2, vol, n)
			if _, err := os.Stat(vol + "/.appagent/txn"); err != nil {
				t.Errorf("no txn after a kill in the middle of the upgrade: %v", err)
			}
			runChild(t, root2, vol)
			if d := diffLines(snapshot(t, want), snapshot(t, vol)); d != "" {
				t.Errorf("killed after %d files, then restarted: the volume differs from an undisturbed run:\n%s", n, d)
			}
		})
	}
	// Kills at arbitrary moments, not only between files.
	for i, delay := range []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		t.Run(fmt.Sprintf("at-%s", delay), func(t *testing.T) {
			vol := t.TempDir()
			runChild(t, root1, vol)
			edit(vol)
			cmd, sc := child(t, root2, vol)
			go func() {
				for sc.Scan() {
				}
			}()
			time.Sleep(delay + time.Duration(i)*time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			runChild(t, root2, vol)
			if d := diffLines(snapshot(t, want), snapshot(t, vol)); d != "" {
				t.Errorf("killed after %s: the volume differs from an undisturbed run:\n%s", delay, d)
			}
		})
	}
}

func TestSecondLockRefused(t *testing.T) {
	vol := t.TempDir()
	f, err := Lock(vol)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// flock locks belong to the open file: a second open in this process conflicts like a
	// second container would.
	_, err = Lock(vol)
	if exitcode.Of(err) != exitcode.VolumeLocked || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second lock: %v (code %v), want volume-locked", err, exitcode.Of(err))
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid=%d", os.Getpid())) {
		t.Errorf("the message does not name the holder: %v", err)
	}
}

// A directory the image replaces by a file holds a file of the user's: a kill at any step of
// the replacement, then a restart, must end with the user's file in the backup, exactly as
// an undisturbed run leaves it (never hidden on the volume under a temporary name, where a
// later upgrade of the same path would delete it).
func TestKillDuringDirReplace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	root1, root2, edit := crashFixture(t)
	userDir := func(vol string) {
		edit(vol)
		write(t, vol+"/etc/app/sub/mine", "the user's own file")
	}
	want := t.TempDir()
	runChild(t, root1, want)
	userDir(want)
	runChild(t, root2, want)
	if got := read(t, filepath.Join(want, dirBackup, backupsOn(t, want)[0], "files/etc/app/sub/mine")); got != "the user's own file" {
		t.Fatalf("undisturbed run: the user's file is not in the backup: %q", got)
	}
	for n := 1; n <= 6; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vol := t.TempDir()
			runChild(t, root1, vol)
			userDir(vol)
			killAfterStall(t, root2, vol, n)
			runChild(t, root2, vol)
			if d := diffLines(snapshot(t, want), snapshot(t, vol)); d != "" {
				t.Errorf("killed after %d steps, then restarted: the volume differs from an undisturbed run:\n%s", n, d)
			}
		})
	}
}

// An upgrade to build B killed in the middle of its file changes, then a start with another
// image (A again: the usual "go back"): the volume holds some of B's files under A's manifest.
// Finishing as if it were at A would record build A over that mix (B's files then look like
// the user's to every later upgrade, and a directory B replaced stays replaced); the start is
// refused with a message naming build B, and B's image then finishes the upgrade as if
// undisturbed.
func TestInterruptedUpgradeThenOtherImage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	root1, root2, edit := crashFixture(t)
	want := t.TempDir()
	runChild(t, root1, want)
	edit(want)
	runChild(t, root2, want)

	vol := t.TempDir()
	runChild(t, root1, vol)
	edit(vol)
	killAfterStall(t, root2, vol, 5)
	b := read(t, root2+"/"+ImageMetaDir+"/build-id")

	cmd, sc := child(t, root1, vol)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != int(exitcode.Upgrade) {
		t.Fatalf("image A on a volume in the middle of an upgrade to B: %v, want exit %d\n%s", err, exitcode.Upgrade, out.String())
	}
	for _, w := range []string{"in the middle of an upgrade to build " + strings.TrimSpace(b), "docs/volume.md"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("the message lacks %q:\n%s", w, out.String())
		}
	}
	runChild(t, root2, vol)
	if d := diffLines(snapshot(t, want), snapshot(t, vol)); d != "" {
		t.Errorf("B's image after the refused start: the volume differs from an undisturbed upgrade:\n%s", d)
	}
}

// The keeper (which holds Lock) is killed while the agent holds AgentLock: a second container
// must still be refused; and the other way round. Each lock is a separate open, as in
// separate processes.
func TestAnySingleHolderKeepsTheVolume(t *testing.T) {
	vol := t.TempDir()
	keeper, err := Lock(vol)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := AgentLock(vol, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keeper.Close() // kill -9 of the keeper
	if _, err := Lock(vol); exitcode.Of(err) != exitcode.VolumeLocked || !strings.Contains(err.Error(), "its agent holds") {
		t.Fatalf("keeper gone, agent holding: %v (code %v), want volume-locked naming the agent's lock", err, exitcode.Of(err))
	}
	// The agent restarts (systemd's Restart=): a second shared hold is fine.
	agent2, err := AgentLock(vol, time.Second)
	if err != nil {
		t.Fatalf("a restarted agent must get the shared lock: %v", err)
	}
	agent.Close()
	agent2.Close()
	// Both gone: the volume is free again.
	keeper, err = Lock(vol)
	if err != nil {
		t.Fatalf("nothing holds the volume: %v", err)
	}
	agent, err = AgentLock(vol, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	agent.Close() // kill -9 of the agent: the keeper still holds
	if _, err := Lock(vol); exitcode.Of(err) != exitcode.VolumeLocked {
		t.Fatalf("agent gone, keeper holding: %v, want volume-locked", err)
	}
	keeper.Close()
}
