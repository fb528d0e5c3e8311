package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// The volume's life in real systemd containers: populate, re-create, upgrade (config-file
// rules, new path, removed file, format migration), lock, planted links, kill -9.

// volConfigV1 keeps /etc/app and /var/lib/app (yaml) and /srv/www (the talk's plain list).
const volConfigV1 = `volume:
  path: /data
  paths:
    - /etc/app
    - /var/lib/app
  paths_file: /etc/appagent/volume-data-list
`

// volConfigV2 adds /opt/newpath and raises the volume format to 2 (migration 1-2).
const volConfigV2 = `volume:
  path: /data
  format: 2
  paths:
    - /etc/app
    - /var/lib/app
    - /opt/newpath
  paths_file: /etc/appagent/volume-data-list
`

const migration12 = "#!/bin/sh\nset -e\necho \"moving the data to format $APPAGENT_FORMAT_TO\"\necho 2 > \"$APPAGENT_VOLUME/var/lib/app/format-2-data\"\n"

func volFilesV1() map[string]string {
	f := map[string]string{
		"/etc/appagent/appagent.yaml":      volConfigV1,
		"/etc/appagent/volume-data-list":   "# the talk's volume-data-list\n/srv/www\n",
		"/etc/app/a.conf":                  "A1\n",
		"/etc/app/b.conf":                  "B1\n",
		"/etc/app/gone.conf":               "G1\n",
		"/srv/www/index.html":              "<h1>v1</h1>\n",
		"/var/lib/app/data/big/README.txt": "data\n",
	}
	for i := 0; i < 300; i++ {
		f[fmt.Sprintf("/var/lib/app/data/d%d/f%03d", i%9, i)] = strings.Repeat(fmt.Sprintf("%d ", i), 40+i)
	}
	return f
}

func volFilesV2() map[string]string {
	f := volFilesV1()
	f["/etc/appagent/appagent.yaml"] = volConfigV2
	f["/etc/app/a.conf"] = "A2\n"
	f["/etc/app/b.conf"] = "B2\n"
	delete(f, "/etc/app/gone.conf")
	f["/etc/app/new.conf"] = "N2\n"
	f["/opt/newpath/hello"] = "new path\n"
	f["/usr/libexec/appagent/migrations/1-2"] = migration12
	for i := 0; i < 300; i += 10 {
		f[fmt.Sprintf("/var/lib/app/data/d%d/f%03d", i%9, i)] = "v2\n"
	}
	return f
}

func readVol(t testing.TB, vol, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vol, p))
	if err != nil {
		t.Errorf("volume: %v", err)
		return ""
	}
	return string(b)
}

func absent(t testing.TB, p string) {
	t.Helper()
	if _, err := os.Lstat(p); err == nil {
		t.Errorf("%s exists; want it absent", p)
	}
}

func mustRun(t testing.TB, c *nspawn.Container) {
	t.Helper()
	if state, err := c.WaitRunning(90 * time.Second); err != nil || (state != "running" && state != "degraded") {
		t.Fatalf("not running: %s %v\n%s", state, err, c.Output())
	}
}

func userEdits(t testing.TB, c *nspawn.Container) {
	t.Helper()
	c.MustExec("sh", "-c", "echo B-user > /etc/app/b.conf && echo mine > /var/lib/app/mine && echo user > /srv/www/user.html")
}

func TestVolumeLifecycleNspawn(t *testing.T) {
	nspawn.Require(t)
	vol := t.TempDir()

	// Image v1, empty volume: populated.
	c1 := nspawn.Boot(t, nspawn.Options{Files: volFilesV1(), Prepare: true, Volume: vol})
	mustRun(t, c1)
	if !strings.Contains(c1.Output(), "populating the volume /data") {
		t.Errorf("no population message on the console:\n%s", c1.Output())
	}
	if got := c1.MustExec("cat", "/etc/app/a.conf", "/srv/www/index.html"); got != "A1\n<h1>v1</h1>" {
		t.Errorf("through the symlinks: %q", got)
	}
	userEdits(t, c1)
	if code, err := c1.Stop(60 * time.Second); err != nil {
		t.Fatalf("stop: %d %v", code, err)
	}

	// The same image, container re-created on the same volume: nothing copied, edits kept.
	c2 := nspawn.Boot(t, nspawn.Options{Root: c1.Root(), Volume: vol})
	mustRun(t, c2)
	if !strings.Contains(c2.Output(), "is up to date") {
		t.Errorf("re-created container did not find the volume up to date:\n%s", c2.Output())
	}
	if got := c2.MustExec("cat", "/etc/app/b.conf", "/var/lib/app/mine", "/srv/www/user.html"); got != "B-user\nmine\nuser" {
		t.Errorf("user changes after re-creation: %q", got)
	}
	c2.Stop(60 * time.Second)

	// --plan with image v2: says what it would do, changes nothing, exits 0.
	init := append(append([]string{}, nspawn.DefaultInit...), "--plan")
	cp := nspawn.Boot(t, nspawn.Options{Files: volFilesV2(), Prepare: true, Volume: vol, Init: init})
	if code, err := cp.Wait(60 * time.Second); err != nil || code != 0 {
		t.Fatalf("init --plan: exit %d %v\n%s", code, err, cp.Output())
	}
	for _, want := range []string{"replace", "/etc/app/a.conf", "keep+new", "/etc/app/b.conf", "remove", "/etc/app/gone.conf", "install", "/opt/newpath", "migrate"} {
		if !strings.Contains(cp.Output(), want) {
			t.Errorf("plan lacks %q:\n%s", want, cp.Output())
		}
	}
	if got := readVol(t, vol, "etc/app/a.conf"); got != "A1\n" {
		t.Errorf("--plan changed the volume: a.conf = %q", got)
	}

	// Backups of earlier upgrades (volume.keep_backups is 3 by default): after this upgrade
	// the oldest plain one goes, the one whose .appagent-new is not reviewed yet stays.
	oldBackups := map[string]string{
		"20190101T000000Z-0000-to-1111": `[{"path":"etc/app/review.conf","action":"keep+new"}]`,
		"20200101T000000Z-1111-to-2222": `[]`,
		"20200201T000000Z-2222-to-3333": `[]`,
		"20200301T000000Z-3333-to-4444": `[]`,
	}
	for name, plan := range oldBackups {
		dir := filepath.Join(vol, ".appagent/backup", name)
		if err := os.MkdirAll(dir+"/files/etc/app", 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(dir+"/files/etc/app/old.conf", []byte("old\n"), 0o644)
		os.WriteFile(dir+"/plan.json", []byte(plan), 0o600)
	}
	os.WriteFile(filepath.Join(vol, "etc/app/review.conf.appagent-new"), []byte("to review\n"), 0o644)

	// Image v2: each rule.
	c3 := nspawn.Boot(t, nspawn.Options{Files: volFilesV2(), Prepare: true, Volume: vol})
	mustRun(t, c3)
	out := c3.Output()
	absent(t, filepath.Join(vol, ".appagent/backup/20200101T000000Z-1111-to-2222"))
	if !strings.Contains(out, "removed the old backup /data/.appagent/backup/20200101T000000Z-1111-to-2222") {
		t.Errorf("the pruning of the oldest backup is not on the console:\n%s", out)
	}
	for _, name := range []string{"20190101T000000Z-0000-to-1111", "20200201T000000Z-2222-to-3333", "20200301T000000Z-3333-to-4444"} {
		if _, err := os.Stat(filepath.Join(vol, ".appagent/backup", name, "files/etc/app/old.conf")); err != nil {
			t.Errorf("backup %s should be kept: %v", name, err)
		}
	}
	for file, want := range map[string]string{
		"etc/app/a.conf":              "A2\n",     // untouched by the user: replaced
		"etc/app/b.conf":              "B-user\n", // changed by both: the user's kept
		"etc/app/b.conf.appagent-new": "B2\n",     // ... the image's beside it
		"etc/app/new.conf":            "N2\n",     // new file
		"opt/newpath/hello":           "new path\n",
		"var/lib/app/mine":            "mine\n",
		"var/lib/app/data/d0/f000":    "v2\n",
		"var/lib/app/format-2-data":   "2\n", // migration 1-2 ran
		".appagent/format":            "2\n",
	} {
		if got := readVol(t, vol, file); got != want {
			t.Errorf("after the upgrade %s = %q, want %q", file, got, want)
		}
	}
	absent(t, filepath.Join(vol, "etc/app/gone.conf"))
	if !strings.Contains(out, "b.conf") || !strings.Contains(out, "warning") || !strings.Contains(out, ".appagent/backup/") {
		t.Errorf("the console does not warn about b.conf or name the backup:\n%s", out)
	}
	if !strings.Contains(out, "migration 1-2: moving the data to format 2") {
		t.Errorf("the migration's output is not on the console:\n%s", out)
	}
	if got := c3.MustExec("cat", "/opt/newpath/hello"); got != "new path" {
		t.Errorf("new path through its symlink: %q", got)
	}
	if got := c3.MustExec("/usr/bin/appagent", "upgrade", "--plan", "--json"); !strings.Contains(got, `"kind": "up-to-date"`) {
		t.Errorf("appagent upgrade --plan --json in the upgraded container: %s", got)
	}
	backups, _ := filepath.Glob(filepath.Join(vol, ".appagent/backup/*/files/etc/app/a.conf"))
	if len(backups) != 1 || readVol(t, "/", backups[0]) != "A1\n" {
		t.Errorf("backup of a.conf: %v", backups)
	}

	// A second container on the same volume is refused at once.
	c4 := nspawn.Boot(t, nspawn.Options{Files: volFilesV2(), Prepare: true, Volume: vol})
	code, err := c4.Wait(60 * time.Second)
	if err != nil || code != int(exitcode.VolumeLocked) || !strings.Contains(c4.Output(), "in use") {
		t.Errorf("second container: exit %d %v, want %d and a message that the volume is in use:\n%s", code, err, exitcode.VolumeLocked, c4.Output())
	}
	c3.Stop(60 * time.Second)

	// Back to image v1 (format 1) on the format-2 volume: refused.
	c5 := nspawn.Boot(t, nspawn.Options{Root: c1.Root(), Volume: vol})
	if code, err := c5.Wait(60 * time.Second); err != nil || code != int(exitcode.VolumeNewer) {
		t.Errorf("older image on a newer volume: exit %d %v, want %d\n%s", code, err, exitcode.VolumeNewer, c5.Output())
	}

	volumeRecordAndDowngrade(t, c3, vol)
}

// volumeRecordAndDowngrade: on a volume at image v2 (c3's root, stopped): a damaged
// manifest is found by doctor in the running container and repaired by the next start; a
// rebuild of v2 (a later build) upgrades the volume, and v2's older build is then refused as
// a downgrade (code 14) unless the container has APPAGENT_DOWNGRADE=allow.
func volumeRecordAndDowngrade(t *testing.T, v2 *nspawn.Container, vol string) {
	manifest := filepath.Join(vol, ".appagent/manifest.json")
	good, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	c := nspawn.Boot(t, nspawn.Options{Root: v2.Root(), Volume: vol})
	mustRun(t, c)
	if err := os.WriteFile(manifest, good[:len(good)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	doc, _, _, _ := c.Exec("/usr/bin/appagent", "doctor")
	if !strings.Contains(doc, "FAIL  volume-record") || !strings.Contains(doc, "/data/.appagent/manifest.json is damaged") {
		t.Errorf("doctor does not report the damaged manifest:\n%s", doc)
	}
	c.Stop(60 * time.Second)
	c = nspawn.Boot(t, nspawn.Options{Root: v2.Root(), Volume: vol})
	mustRun(t, c)
	if out := c.Output(); !strings.Contains(out, "manifest.json is damaged") || !strings.Contains(out, "rewritten from this image's copy") {
		t.Errorf("the start does not say it repaired the manifest:\n%s", out)
	}
	if got, _ := os.ReadFile(manifest); string(got) != string(good) {
		t.Errorf("manifest not restored from the image")
	}
	if doc, _, _, _ := c.Exec("/usr/bin/appagent", "doctor"); !strings.Contains(doc, "PASS  volume-record") {
		t.Errorf("doctor after the repair:\n%s", doc)
	}
	c.Stop(60 * time.Second)

	// The build time is in the build id (seconds): the rebuild must be a later second.
	time.Sleep(1100 * time.Millisecond)
	files := volFilesV2()
	files["/etc/app/a.conf"] = "A2.1\n"
	newer := nspawn.Boot(t, nspawn.Options{Files: files, Prepare: true, Volume: vol})
	mustRun(t, newer)
	newer.Stop(60 * time.Second)
	if got := readVol(t, vol, "etc/app/a.conf"); got != "A2.1\n" {
		t.Fatalf("the rebuild did not upgrade: a.conf = %q", got)
	}
	old := nspawn.Boot(t, nspawn.Options{Root: v2.Root(), Volume: vol})
	if code, err := old.Wait(60 * time.Second); err != nil || code != int(exitcode.VolumeNewer) || !strings.Contains(old.Output(), "APPAGENT_DOWNGRADE=allow") {
		t.Errorf("downgrade by default: exit %d %v, want %d naming APPAGENT_DOWNGRADE=allow\n%s", code, err, exitcode.VolumeNewer, old.Output())
	}
	if got := readVol(t, vol, "etc/app/a.conf"); got != "A2.1\n" {
		t.Errorf("a refused downgrade changed a.conf: %q", got)
	}
	old = nspawn.Boot(t, nspawn.Options{Root: v2.Root(), Volume: vol, Env: []string{"APPAGENT_DOWNGRADE=allow"}})
	mustRun(t, old)
	if !strings.Contains(old.Output(), "warning: this is a downgrade") {
		t.Errorf("an allowed downgrade does not warn:\n%s", old.Output())
	}
	if got := old.MustExec("cat", "/etc/app/a.conf"); got != "A2" {
		t.Errorf("after the downgrade a.conf = %q, want the older build's", got)
	}
	old.Stop(60 * time.Second)
}

func TestVolumePlantedLinksNspawn(t *testing.T) {
	nspawn.Require(t)
	vol := t.TempDir()
	c1 := nspawn.Boot(t, nspawn.Options{Files: volFilesV1(), Prepare: true, Volume: vol})
	mustRun(t, c1)
	c1.Stop(60 * time.Second)

	// Plant links to /etc/shadow and to / (container paths, and host paths alike).
	hostShadow := sha(t, "/etc/shadow")
	os.Remove(filepath.Join(vol, "etc/app/a.conf"))
	os.Symlink("/etc/shadow", filepath.Join(vol, "etc/app/a.conf"))
	os.RemoveAll(filepath.Join(vol, "var/lib/app"))
	os.Symlink("/", filepath.Join(vol, "var/lib/app"))
	os.Symlink("/etc/shadow", filepath.Join(vol, "etc/app/new.conf"))
	os.Symlink("../../../../etc", filepath.Join(vol, "opt"))

	files := volFilesV2()
	files["/var/lib/app/data/newfile"] = "must not land in /data\n"
	c2 := nspawn.Boot(t, nspawn.Options{Files: files, Prepare: true, Volume: vol})
	mustRun(t, c2)
	root := c2.Root()
	if sha(t, filepath.Join(root, "etc/shadow")) != sha(t, filepath.Join(nspawn.Root(t), "etc/shadow")) {
		t.Error("the container's /etc/shadow was changed")
	}
	if sha(t, "/etc/shadow") != hostShadow {
		t.Error("the host's /etc/shadow was changed")
	}
	for _, p := range []string{"data/newfile", "data/d0", "hello", "etc/hello"} {
		absent(t, filepath.Join(root, p))
	}
	absent(t, "/hello")
	if l, _ := os.Readlink(filepath.Join(vol, "etc/app/a.conf")); l != "/etc/shadow" {
		t.Errorf("the user's link a.conf was not kept: %q", l)
	}
	if got := readVol(t, vol, "etc/app/a.conf.appagent-new"); got != "A2\n" {
		t.Errorf("a.conf.appagent-new = %q", got)
	}
	if !strings.Contains(c2.Output(), "blocked") {
		t.Errorf("no warning about the blocked paths:\n%s", c2.Output())
	}
}

const knobsPath = "/usr/local/bin/appagent-testknobs"

// knobsBind binds the knob-honouring build into an nspawn container at knobsPath.
func knobsBind(t testing.TB) []string {
	return []string{"--bind-ro=" + nspawn.KnobsBinary(t) + ":" + knobsPath}
}

func sha(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// killInit runs appagent init with the stall knob (the build with nspawn.KnobsTag, bound at
// knobsPath by knobsBind: the production binary ignores the knob), kills it with SIGKILL once
// it stalls, and then starts the production appagent init as PID 1's exec: a crash and
// restart in one container.
func killInit(after int) []string {
	return []string{"/bin/sh", "-c", fmt.Sprintf(`
APPAGENT_TEST_STALL_AFTER=%d `+knobsPath+` init >/tmp/first.log 2>&1 &
pid=$!
while ! grep -q stalling /tmp/first.log; do sleep 0.05; done
kill -9 $pid
cat /tmp/first.log
echo "test: killed appagent init (pid $pid) with SIGKILL after %d files"
exec /usr/bin/appagent init`, after, after)}
}

// volSnapshot lists the volume's paths, types, modes, owners and contents, without
// appagent's run-time files (lock, backup names with a time, stamps of other helpers).
func volSnapshot(t testing.TB, vol string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(vol, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(vol, p)
		if strings.HasPrefix(rel, ".appagent") {
			switch rel {
			case ".appagent", ".appagent/manifest.json", ".appagent/build-id", ".appagent/format":
			default:
				if !strings.HasPrefix(rel, ".appagent/backup/") {
					return nil
				}
				parts := strings.SplitN(rel, "/", 4)
				parts[2] = "X"
				rel = strings.Join(parts, "/")
			}
		}
		fi, _ := os.Lstat(p)
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		if fi.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			line += " -> " + l
		} else if fi.Mode().IsRegular() {
			line += " " + sha(t, p)[:12]
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestVolumeKillNspawn(t *testing.T) {
	nspawn.Require(t)
	killed, ref := t.TempDir(), t.TempDir()

	// Population killed after 120 of ~330 files, then restarted.
	cA := nspawn.Boot(t, nspawn.Options{Files: volFilesV1(), Prepare: true, Volume: killed, Init: killInit(120), ExtraArgs: knobsBind(t)})
	mustRun(t, cA)
	if !strings.Contains(cA.Output(), "killed appagent init") {
		t.Fatalf("the kill did not happen:\n%s", cA.Output())
	}
	userEdits(t, cA)
	cA.Stop(60 * time.Second)
	cB := nspawn.Boot(t, nspawn.Options{Root: cA.Root(), Volume: ref})
	mustRun(t, cB)
	userEdits(t, cB)
	cB.Stop(60 * time.Second)
	if a, b := volSnapshot(t, killed), volSnapshot(t, ref); a != b {
		t.Errorf("population killed and restarted differs from an undisturbed one:\nkilled:\n%s\nundisturbed:\n%s", a, b)
	}

	// Upgrade killed after 5 files, then restarted.
	cC := nspawn.Boot(t, nspawn.Options{Files: volFilesV2(), Prepare: true, Volume: killed, Init: killInit(5), ExtraArgs: knobsBind(t)})
	mustRun(t, cC)
	if !strings.Contains(cC.Output(), "killed appagent init") {
		t.Fatalf("the kill did not happen:\n%s", cC.Output())
	}
	cC.Stop(60 * time.Second)
	cD := nspawn.Boot(t, nspawn.Options{Root: cC.Root(), Volume: ref})
	mustRun(t, cD)
	cD.Stop(60 * time.Second)
	if a, b := volSnapshot(t, killed), volSnapshot(t, ref); a != b {
		t.Errorf("upgrade killed and restarted differs from an undisturbed one:\nkilled:\n%s\nundisturbed:\n%s", a, b)
	}
	if got := readVol(t, killed, "etc/app/b.conf.appagent-new"); got != "B2\n" {
		t.Errorf("b.conf.appagent-new = %q", got)
	}
}

// The podman path, read-only root: the image is built by podman (prepare under overlayfs,
// where moving a lower-layer directory needs the copy fallback).
const volContainerfile = `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml volume-data-list /etc/appagent/
COPY app /etc/app
COPY lib /var/lib/app
COPY www /srv/www
COPY opt /opt
COPY migrations /usr/libexec/appagent/migrations
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/bin/appagent", "init"]
`

func podmanFiles(files map[string]string) map[string]string {
	ctx := map[string]string{"opt/.keep": "", "migrations/.keep": ""}
	for p, c := range files {
		switch {
		case strings.HasPrefix(p, "/etc/appagent/"):
			ctx[strings.TrimPrefix(p, "/etc/appagent/")] = c
		case strings.HasPrefix(p, "/etc/app/"):
			ctx["app/"+strings.TrimPrefix(p, "/etc/app/")] = c
		case strings.HasPrefix(p, "/var/lib/app/"):
			ctx["lib/"+strings.TrimPrefix(p, "/var/lib/app/")] = c
		case strings.HasPrefix(p, "/srv/www/"):
			ctx["www/"+strings.TrimPrefix(p, "/srv/www/")] = c
		case strings.HasPrefix(p, "/opt/"):
			ctx["opt/"+strings.TrimPrefix(p, "/opt/")] = c
		case strings.HasPrefix(p, "/usr/libexec/appagent/migrations/"):
			ctx["migrations/"+strings.TrimPrefix(p, "/usr/libexec/appagent/migrations/")] = c
		}
	}
	return ctx
}

func podmanRunning(t testing.TB, c *podman.Container) {
	t.Helper()
	if state, err := c.WaitRunning(90 * time.Second); err != nil || (state != "running" && state != "degraded") {
		t.Fatalf("not running: %s %v\n%s", state, err, c.Logs())
	}
}

func TestVolumeReadOnlyPodman(t *testing.T) {
	podman.Require(t)
	img1 := podman.Build(t, podman.BuildOptions{Containerfile: volContainerfile, Files: podmanFiles(volFilesV1())})
	vol := podman.NewVolume(t)

	c1 := podman.Run(t, img1, podman.RunOptions{Volume: vol, ReadOnly: true})
	podmanRunning(t, c1)
	if got := c1.MustExec("cat", "/etc/app/a.conf", "/srv/www/index.html"); got != "A1\n<h1>v1</h1>" {
		t.Errorf("populated volume through the symlinks: %q", got)
	}
	if got := c1.MustExec("cat", "/data/var/lib/app/data/d0/f000"); !strings.HasPrefix(got, "0 0 ") {
		t.Errorf("data file: %q", got)
	}
	c1.MustExec("sh", "-c", "echo B-user > /etc/app/b.conf")
	c1.Stop(60 * time.Second)
	c1.Remove()

	// Re-created on the same volume: up to date, the change kept.
	c2 := podman.Run(t, img1, podman.RunOptions{Volume: vol, ReadOnly: true})
	podmanRunning(t, c2)
	if got := c2.MustExec("cat", "/etc/app/b.conf"); got != "B-user" {
		t.Errorf("after re-creation b.conf = %q", got)
	}
	c2.Stop(60 * time.Second)
	c2.Remove()

	// Image v2, read-only too.
	img2 := podman.Build(t, podman.BuildOptions{Containerfile: volContainerfile, Files: podmanFiles(volFilesV2())})

	// What v2 would do, from `podman run --rm IMAGE --plan`: printed, nothing changed.
	cp := podman.Run(t, img2, podman.RunOptions{Volume: vol, ReadOnly: true, Cmd: []string{"--plan"}})
	if code, err := cp.Wait(60 * time.Second); err != nil || code != 0 {
		t.Errorf("--plan: exit %d %v\n%s", code, err, cp.Logs())
	}
	if logs := cp.Logs(); !strings.Contains(logs, "keep+new") || !strings.Contains(logs, "/etc/app/b.conf") {
		t.Errorf("--plan output:\n%s", logs)
	}
	c3 := podman.Run(t, img2, podman.RunOptions{Volume: vol, ReadOnly: true})
	podmanRunning(t, c3)
	got := c3.MustExec("sh", "-c", "cat /etc/app/a.conf /etc/app/b.conf /data/etc/app/b.conf.appagent-new /opt/newpath/hello /data/.appagent/format; test ! -e /etc/app/gone.conf && echo gone")
	if want := "A2\nB-user\nB2\nnew path\n2\ngone"; got != want {
		t.Errorf("after the upgrade under podman: %q, want %q", got, want)
	}

	// A second container on the volume exits 12 at once.
	secondRefused := func(when, says string) {
		t.Helper()
		c := podman.Run(t, img2, podman.RunOptions{Volume: vol, ReadOnly: true})
		if code, err := c.Wait(60 * time.Second); err != nil || code != int(exitcode.VolumeLocked) || !strings.Contains(c.Logs(), says) {
			t.Errorf("%s: second container on the volume: exit %d %v, want %d saying %q\n%s", when, code, err, exitcode.VolumeLocked, says, c.Logs())
		}
		c.Remove()
	}
	secondRefused("both hold", "in use by another container")

	// Killing any one appagent process never lets a second container in (issue 12): the
	// agent's shared lock holds when the keeper is gone, the keeper's when the agent is.
	// procs lists "/usr/bin/appagent SUB…" processes (the base has no pkill); kill -9s them with kill.
	procs := func(c *container, sub string, kill bool) string {
		t.Helper()
		script := `for d in /proc/[0-9]*; do c=$(tr '\0' ' ' <$d/cmdline 2>/dev/null); case "$c" in "/usr/bin/appagent $1 "*|"/usr/bin/appagent $1") ` +
			`if [ "$2" = kill ]; then kill -9 ${d#/proc/}; fi; echo ${d#/proc/};; esac; done`
		what := "list"
		if kill {
			what = "kill"
		}
		out, _, _, err := c.Exec("sh", "-c", script, "sh", sub, what)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	killOne := func(c *container, sub string) {
		t.Helper()
		if procs(c, sub, true) == "" {
			t.Fatalf("no appagent %s process to kill", sub)
		}
		if sub == "keeper" {
			wikiWaitFor(t, 10*time.Second, "the keeper gone", func() bool { return procs(c, sub, false) == "" })
		}
	}
	killOne(c3, "keeper")
	secondRefused("keeper killed", "its agent holds")
	c3.Stop(60 * time.Second)
	c3.Remove()
	c5 := podman.Run(t, img2, podman.RunOptions{Volume: vol, ReadOnly: true})
	podmanRunning(t, c5)
	killOne(c5, "run")
	secondRefused("agent killed", "in use by another container")
	c5.Stop(60 * time.Second)
}

// A link planted on the volume at the path migration 1-2 writes, pointing at a file of the
// image: the migration runs confined to the volume (agent/confine, Landlock), its write is
// refused, the start fails with the upgrade's code, and the image's file is unchanged.
func TestMigrationPlantedLinkNspawn(t *testing.T) {
	nspawn.Require(t)
	vol := t.TempDir()
	v1 := volFilesV1()
	v1["/etc/victim.conf"] = "the image's\n"
	c1 := nspawn.Boot(t, nspawn.Options{Files: v1, Prepare: true, Volume: vol})
	mustRun(t, c1)
	c1.Stop(60 * time.Second)
	if err := os.Symlink("/etc/victim.conf", filepath.Join(vol, "var/lib/app/format-2-data")); err != nil {
		t.Fatal(err)
	}
	v2 := volFilesV2()
	v2["/etc/victim.conf"] = "the image's\n"
	// systemd-nspawn's seccomp filter refuses Landlock unless allowed (docs/volume.md).
	c2 := nspawn.Boot(t, nspawn.Options{Files: v2, Prepare: true, Volume: vol, ExtraArgs: []string{"--system-call-filter=" + nspawnLandlock}})
	code, err := c2.Wait(120 * time.Second)
	if err != nil || code != int(exitcode.Upgrade) {
		t.Errorf("exit %d (%v), want %d (upgrade)\n%s", code, err, exitcode.Upgrade, c2.Output())
	}
	if out := c2.Output(); !strings.Contains(out, "Permission denied") || strings.Contains(out, "unconfined") {
		t.Errorf("the migration's write was not refused by its confinement:\n%s", out)
	}
	if got, err := os.ReadFile(filepath.Join(c2.Root(), "etc/victim.conf")); err != nil || string(got) != "the image's\n" {
		t.Errorf("the image's file: %q %v", got, err)
	}
}

// nspawnLandlock are the system calls systemd-nspawn (252) must allow for migrations to run
// confined; its default filter refuses them.
const nspawnLandlock = "landlock_create_ruleset landlock_add_rule landlock_restrict_self"

// The same on podman and Docker, whose default seccomp profiles allow Landlock: the link is
// planted in the named volume between two containers, at the path migration 1-2 writes.
func TestMigrationPlantedLinkEngines(t *testing.T) {
	for _, eng := range []struct{ rt engineRuntime }{{podmanEngine}, {dockerEngine}} {
		t.Run(eng.rt.name, func(t *testing.T) {
			eng.rt.require(t)
			img1 := eng.rt.build(t, podman.BuildOptions{Containerfile: volContainerfile, Files: podmanFiles(volFilesV1())})
			img2 := eng.rt.build(t, podman.BuildOptions{Containerfile: volContainerfile, Files: podmanFiles(volFilesV2())})
			vol := eng.rt.newVolume(t)
			c1 := eng.rt.run(t, img1, podman.RunOptions{Volume: vol})
			podmanRunning(t, c1)
			c1.Stop(60 * time.Second)
			c1.Remove()
			dir := strings.TrimSpace(eng.rt.must(t, "volume", "inspect", "--format", "{{.Mountpoint}}", vol))
			if err := os.Symlink("/etc/appagent/volume-data-list", filepath.Join(dir, "var/lib/app/format-2-data")); err != nil {
				t.Fatal(err)
			}
			c2 := eng.rt.run(t, img2, podman.RunOptions{Volume: vol})
			code, err := c2.Wait(120 * time.Second)
			if err != nil || code != int(exitcode.Upgrade) {
				t.Errorf("exit %d (%v), want %d (upgrade)\n%s", code, err, exitcode.Upgrade, c2.Logs())
			}
			if logs := c2.Logs(); !strings.Contains(logs, "Permission denied") || strings.Contains(logs, "unconfined") {
				t.Errorf("the migration's write was not refused by its confinement:\n%s", logs)
			}
			if d := eng.rt.must(t, "diff", c2.Name); strings.Contains(d, "/etc/appagent/volume-data-list") {
				t.Errorf("the image's file was written:\n%s", d)
			}
		})
	}
}
