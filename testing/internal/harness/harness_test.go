package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseOwner(t *testing.T) {
	tests := []struct {
		in    string
		pid   int
		start uint64
		ok    bool
	}{
		{"p123-456", 123, 456, true},
		{"p1-0", 1, 0, true},
		{"123-456", 0, 0, false},
		{"p123", 0, 0, false},
		{"p-1-2", 0, 0, false},
		{"px-2", 0, 0, false},
		{"p0-2", 0, 0, false},
		{"p12-x", 0, 0, false},
		{"bin", 0, 0, false},
	}
	for _, tt := range tests {
		pid, start, ok := ParseOwner(tt.in)
		if pid != tt.pid || start != tt.start || ok != tt.ok {
			t.Errorf("ParseOwner(%q) = %d, %d, %v; want %d, %d, %v", tt.in, pid, start, ok, tt.pid, tt.start, tt.ok)
		}
	}
}

func TestOwnerIsAlive(t *testing.T) {
	if !OwnerAlive(Owner()) {
		t.Fatalf("OwnerAlive(Owner()=%q) = false for this very process", Owner())
	}
	pid, start, _ := ParseOwner(Owner())
	if Alive(pid, start+1) {
		t.Errorf("Alive with a wrong start time = true; a reused pid would pass for its old owner")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` to make a dead pid:", err)
	}
	if OwnerAlive(fmt.Sprintf("p%d-1", cmd.Process.Pid)) {
		t.Errorf("OwnerAlive of an exited process = true")
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := map[string]string{
		`/plain`:              "/plain",
		`/with\040space`:      "/with space",
		`/tab\011and\134back`: "/tab\tand\\back",
		`/trailing\04`:        `/trailing\04`,
	}
	for in, want := range tests {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := Tail(tt.in, tt.n); got != tt.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestRunReportsExitAndKillsGroupOnTimeout(t *testing.T) {
	r, err := Run(10*time.Second, nil, CleanEnv, "sh", "-c", "echo out; echo err >&2; exit 3")
	if err != nil || r.Code != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("Run = %+v, %v; want code 3, out, err", r, err)
	}
	// A grandchild in the same process group must die with the command on timeout.
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	start := time.Now()
	_, err = Run(300*time.Millisecond, nil, nil, "sh", "-c", "sleep 60 & echo $! > "+pidFile+"; wait")
	if err == nil {
		t.Fatalf("Run of a command past its deadline returned no error")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Run took %s to give up after a 300ms deadline", time.Since(start))
	}
	b, _ := os.ReadFile(pidFile)
	var pid int
	fmt.Sscanf(string(b), "%d", &pid)
	time.Sleep(100 * time.Millisecond)
	if pid > 0 {
		// A zombie (state Z) is dead: only its parent (here the host's init) has to reap it.
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if i := strings.LastIndexByte(string(st), ')'); i > 0 && len(st) > i+2 && st[i+2] != 'Z' {
			t.Errorf("grandchild sleep (pid %d) still alive after the timeout: %s", pid, st)
		}
	}
}

// TestSweepRemovesDeadOwnersLeftovers makes what a crashed test process leaves (a process,
// a mount, files) under a dead owner's directory and checks that the sweep removes it all.
func TestSweepRemovesDeadOwnersLeftovers(t *testing.T) {
	Require(t, "harness", "sleep")
	dead := filepath.Join(WorkDir, "p999999999-1")
	res := filepath.Join(dead, "c1")
	mnt := filepath.Join(res, "root")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = RemoveDir(dead) })
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "600")
	sleep.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = sleep.Wait(); close(exited) }()
	if err := RecordProc(res, sleep.Process.Pid, true); err != nil {
		t.Fatal(err)
	}
	var extra []string
	msgs := SweepNow(func(d string) { extra = append(extra, d) })
	t.Logf("sweep: %v", msgs)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Errorf("the recorded process (pid %d) survived the sweep", sleep.Process.Pid)
		_ = sleep.Process.Kill()
	}
	if mps, _ := MountsUnder(dead); len(mps) != 0 {
		t.Errorf("mounts left after the sweep: %v", mps)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("stale owner dir %s still there after the sweep (stat: %v)", dead, err)
	}
	found := false
	for _, d := range extra {
		found = found || d == res
	}
	if !found {
		t.Errorf("sweep did not offer %s to the harness's extra cleanup (got %v)", res, extra)
	}
}
