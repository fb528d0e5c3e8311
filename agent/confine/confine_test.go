package confine_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/confine"

	"github.com/appagent/appagent/internal/unconfined"
)

// The test binary is the confined helper when this variable names the writable directory.
const helperEnv = "APPAGENT_CONFINE_TEST_WRITE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		argv := os.Args[1:]
		for i, a := range argv {
			if a == "--" {
				argv = argv[i+1:]
				break
			}
		}
		err := confine.Exec([]string{dir}, argv, os.Environ())
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(99)
	}
	os.Exit(m.Run())
}

// A confined program writes beneath its directory, and a link planted there does not take
// its writes (create, truncate, rename) outside.
func TestExecConfinesWrites(t *testing.T) {
	if confine.ABI() == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("Landlock is not available on this CI machine (CONFIG_SECURITY_LANDLOCK, lsm=landlock)")
		}
		t.Skip("Landlock is not available here")
	}
	vol, outside := unconfined.Dir(t), unconfined.Dir(t)
	if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("image file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"link-new": "new", "link-victim": "victim", "dir-link": "."} {
		if err := os.Symlink(filepath.Join(outside, target), filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	script := `cd "$1"
echo data > ok && mkdir -p sub && mv ok sub/ok && echo "own writes: done"
for what in 'echo x > link-new' 'echo x > link-victim' ': > link-victim' 'echo x > dir-link/made' 'mv sub/ok dir-link/moved'; do
  if sh -c "$what" 2>/dev/null; then echo "ESCAPED: $what"; else echo "refused: $what"; fi
done`
	cmd := exec.Command(os.Args[0], "--", "/bin/sh", "-c", script, "sh", vol)
	cmd.Env = append(os.Environ(), helperEnv+"="+vol)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("confined shell: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "own writes: done") || strings.Contains(string(out), "ESCAPED") || strings.Count(string(out), "refused:") != 5 {
		t.Errorf("confined shell:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "victim")); string(got) != "image file\n" {
		t.Errorf("the outside file changed: %q", got)
	}
	for _, p := range []string{"new", "made", "moved"} {
		if _, err := os.Lstat(filepath.Join(outside, p)); err == nil {
			t.Errorf("%s was created outside", p)
		}
	}
	if _, err := os.Stat(filepath.Join(vol, "sub/ok")); err != nil {
		t.Errorf("the program's own write is missing: %v", err)
	}
}

func TestArgs(t *testing.T) {
	got := strings.Join(confine.Args("/usr/bin/appagent", []string{"/data"}, []string{"/m/1-2", "x"}), " ")
	if want := "/usr/bin/appagent confine --write /data -- /m/1-2 x"; got != want {
		t.Errorf("Args = %q, want %q", got, want)
	}
}
