package upgrade

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/appagent/appagent/agent/confine"
	"github.com/appagent/appagent/agent/exitcode"
)

// Format migrations: the image ships executables named FROM-TO (1-2, 2-3) in
// volume.migrations. To bring a volume from format f to the image's format t, init runs
// f-(f+1), then (f+1)-(f+2), ... up to t. Each one that exits 0 is recorded at once in
// <volume>/.appagent/format, so a failed or killed chain resumes at the step that did not
// finish (a step must therefore be safe to run again after an interruption).

// migrationChain lists the executables that take the volume from format from to to.
// A missing step is an error that names the file the image must ship.
func migrationChain(dir string, from, to int) ([]string, error) {
	var chain []string
	for f := from; f < to; f++ {
		p := filepath.Join(dir, fmt.Sprintf("%d-%d", f, f+1))
		fi, err := os.Stat(p)
		if err != nil {
			return nil, exitcode.Withf(exitcode.Upgrade,
				"the volume has format %d and this image writes format %d, but the migration step %s is missing (%v); ship it in the image (volume.migrations)",
				from, to, p, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return nil, exitcode.Withf(exitcode.Upgrade, "the migration step %s is not an executable file (chmod +x it in the image)", p)
		}
		chain = append(chain, p)
	}
	return chain, nil
}

// selfExe is the appagent binary that confines a migration (agent/confine's command).
const selfExe = "/proc/self/exe"

// runMigrations runs the chain, recording each success on the volume. Each step runs
// confined to writing beneath the volume (agent/confine), so that a link planted on the
// volume cannot lead it into the image; where Landlock is not available it runs unconfined,
// and the output says so once.
func runMigrations(v *vfs, chain []string, from int, backup string, out io.Writer) error {
	f := from
	confined := confine.ABI() > 0
	if !confined && len(chain) > 0 {
		fmt.Fprintf(out, "appagent: migrations run unconfined: Landlock is not available here (kernel without it, or the runtime's seccomp profile refuses it), so a link planted on the volume could lead a step's writes outside %s (systemd-nspawn: allow it, docs/volume.md, \"Format migrations\")\n", v.path)
	}
	for _, step := range chain {
		name := filepath.Base(step)
		fmt.Fprintf(out, "appagent: migration %s: running %s\n", name, step)
		cmd := exec.Command(step)
		if confined {
			args := confine.Args(selfExe, []string{v.path}, []string{step})
			cmd = exec.Command(args[0], args[1:]...)
		}
		cmd.Dir = v.path
		// A killed appagent must not leave a step running beside the next start's rerun.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Env = append(os.Environ(),
			"APPAGENT_VOLUME="+v.path,
			"APPAGENT_FORMAT_FROM="+strconv.Itoa(f),
			"APPAGENT_FORMAT_TO="+strconv.Itoa(f+1),
			"APPAGENT_BACKUP="+v.join(backup))
		if err := runPrefixed(cmd, "appagent: migration "+name+": ", out); err != nil {
			return exitcode.Withf(exitcode.Upgrade, "migration %s failed: %v; the volume stays at format %d (recorded in %s); fix the step and start again",
				step, err, f, v.abs(fileFormat))
		}
		f++
		if err := writeFormat(v, f); err != nil {
			return exitcode.With(exitcode.Upgrade, err)
		}
		fmt.Fprintf(out, "appagent: migration %s: done, volume format is now %d\n", name, f)
	}
	return nil
}

// runPrefixed runs cmd with its stdout and stderr passed to out, each line prefixed.
func runPrefixed(cmd *exec.Cmd, prefix string, out io.Writer) error {
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			fmt.Fprintf(out, "%s%s\n", prefix, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	return err
}
