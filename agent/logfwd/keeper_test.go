package logfwd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/testing/nspawn"
)

// TestMain lets the test binary act as `appagent keeper` for StartKeeper.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "keeper" {
		// As cmd/appagent runs it: SIGTERM cancels the context.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := RunKeeper(ctx, KeeperConfig{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// nspawn.Main runs the tests and removes the harness's work directory (the benchmark
	// boots a container).
	nspawn.Main(m)
}

// keeperPID asks the kernel who listens on the keeper socket.
func keeperPID(t *testing.T) int {
	t.Helper()
	name, err := KeeperSocketName()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: "@" + name, Net: "unix"})
	if err != nil {
		t.Fatalf("keeper not listening: %v", err)
	}
	defer c.Close()
	cred, err := peerCred(c)
	if err != nil {
		t.Fatal(err)
	}
	return int(cred.Pid)
}

func TestKeeperHandsOverStdoutAndHoldsFiles(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the keeper serves root only")
	}
	t.Setenv(envKeeperTag, fmt.Sprintf("test-%d", os.Getpid()))
	if _, _, err := FromKeeper(); err == nil {
		t.Fatal("a keeper answers before one was started")
	}
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	defer outR.Close()
	defer errR.Close()
	lockPath := filepath.Join(t.TempDir(), "lock")
	lock, err := os.Create(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if err := StartKeeper(KeeperOptions{Stdout: outW, Stderr: errW, Hold: []*os.File{lock}, Binary: exe}); err != nil {
		t.Fatal(err)
	}
	pid := keeperPID(t)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	// Only the keeper holds them now, as after init's exec of systemd.
	outW.Close()
	errW.Close()
	lock.Close()

	again, _ := os.Open(lockPath)
	defer again.Close()
	if err := unix.Flock(int(again.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Fatalf("the volume lock is not held by the keeper: flock = %v", err)
	}

	for i := 0; i < 2; i++ { // an agent restart fetches the files again
		stdout, stderr, err := FromKeeper()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(stdout, "to stdout %d\n", i)
		fmt.Fprintf(stderr, "to stderr %d\n", i)
		stdout.Close()
		stderr.Close()
		line, err := bufio.NewReader(outR).ReadString('\n')
		if err != nil || line != fmt.Sprintf("to stdout %d\n", i) {
			t.Fatalf("container stdout got %q, %v", line, err)
		}
		line, _ = bufio.NewReader(errR).ReadString('\n')
		if line != fmt.Sprintf("to stderr %d\n", i) {
			t.Fatalf("container stderr got %q", line)
		}
	}
	f, from, err := OpenOutput()
	if err != nil || from != "keeper" {
		t.Fatalf("OpenOutput: %v %v", from, err)
	}
	f.Close()

	// SIGTERM (systemd's final kill at shutdown) ends the keeper; then the pipe's writers are
	// gone: nothing else held stdout.
	syscall.Kill(pid, syscall.SIGTERM)
	outR.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(outR); err != nil || len(rest) != 0 {
		t.Fatalf("after the keeper ended: %q %v", rest, err)
	}
}

func TestKeeperRefusesNonRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to start the keeper and to drop to another uid")
	}
	t.Setenv(envKeeperTag, fmt.Sprintf("test-nonroot-%d", os.Getpid()))
	outR, outW, _ := os.Pipe()
	defer outR.Close()
	exe, _ := os.Executable()
	if err := StartKeeper(KeeperOptions{Stdout: outW, Stderr: outW, Binary: exe}); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	pid := keeperPID(t)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	// A client that is not root: the keeper must close the connection without fds. Run the
	// test binary's client side as nobody.
	cmd := execSelf(t, "TestKeeperClientHelper", 65534)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "REFUSED") {
		t.Fatalf("non-root client: %v\n%s", err, out)
	}
}

// TestKeeperClientHelper is run as another user by TestKeeperRefusesNonRoot.
func TestKeeperClientHelper(t *testing.T) {
	if os.Getenv("LOGFWD_CLIENT_HELPER") != "1" {
		t.Skip("helper")
	}
	if _, _, err := FromKeeper(); err != nil {
		fmt.Println("REFUSED:", err)
		return
	}
	fmt.Println("GOT THE FDS")
}
