package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// CleanEnv is the environment of commands run into containers: the test process's own
// environment (GOFLAGS, CI, ...) has no business there.
var CleanEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
	"TERM=dumb",
	"SYSTEMD_PAGER=",
	"SYSTEMD_COLORS=0",
}

// Result is what a finished command left.
type Result struct {
	Stdout, Stderr string
	Code           int // exit code; 128+N when killed by signal N
}

// Command makes an exec.Cmd that runs in its own process group and, when ctx ends, has that
// whole group killed (not only the direct child), so nothing it started is left behind. It is
// also killed if the test process dies first (go test -timeout runs no cleanup).
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a command with a deadline and collects its output. err is set only when the
// command could not run to its end (not found, deadline); a non-zero exit is in Result.Code.
func Run(timeout time.Duration, stdin io.Reader, env []string, name string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := Command(ctx, name, args...)
	cmd.Stdin = stdin
	if env != nil {
		cmd.Env = env
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	r := Result{Stdout: out.String(), Stderr: errb.String(), Code: ExitCode(cmd, err)}
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s: still running after %s, killed (stderr: %s)", Quote(name, args), timeout, Tail(r.Stderr, 10))
	case err != nil && !isExit(err):
		return r, fmt.Errorf("%s: %w", Quote(name, args), err)
	}
	return r, nil
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// ExitCode of a finished command: its exit status, 128+N when killed by signal N, -1 when it
// did not run.
func ExitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// Quote renders a command line for messages.
func Quote(name string, args []string) string {
	parts := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$") {
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
