package preflight_test

import (
	"bytes"
	"syscall"
	"testing"

	. "github.com/appagent/appagent/agent/preflight"
	pt "github.com/appagent/appagent/agent/preflight/preflighttest"

	"github.com/appagent/appagent/internal/goldenfile"

	"github.com/appagent/appagent/agent/exitcode"
)

// What `podman logs` shows when init refuses a docker-like run (the message people read).
func TestBeforeInitGolden(t *testing.T) {
	f := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsDockerLike, "/proc/self/status": pt.CapsDefault,
		"/proc/self/cgroup": "0::/\n", "/run/.containerenv": ""}, Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true},
		ReadOnly: map[string]error{"/sys/fs/cgroup": syscall.EROFS}}
	var out bytes.Buffer
	err := BeforeInit(pt.Config(false), f.System(), &out)
	if exitcode.Of(err) != exitcode.Preflight {
		t.Fatalf("error %v (code %d), want exit code %d", err, exitcode.Of(err), exitcode.Preflight)
	}
	out.WriteString("error: " + err.Error() + "\n")
	goldenfile.Check(t, "init-podman-systemd-false.txt", out.Bytes())

	out.Reset()
	f.Env = map[string]string{SkipEnv: "1"}
	if err := BeforeInit(pt.Config(false), f.System(), &out); err != nil || out.String() != "appagent: preflight skipped (APPAGENT_SKIP_PREFLIGHT=1)\n" {
		t.Errorf("skip: %v %q", err, out.String())
	}

	out.Reset()
	ok := pt.Fake{Files: map[string]string{"/proc/self/mountinfo": pt.MountsPodmanV2, "/proc/self/status": pt.CapsDefault, "/proc/self/cgroup": "0::/\n"},
		Dirs: map[string]bool{"/data": true, "/sys/fs/cgroup": true}}
	if err := BeforeInit(pt.Config(false), ok.System(), &out); err != nil || out.Len() != 0 {
		t.Errorf("a good runtime must pass silently: %v %q", err, out.String())
	}
}
