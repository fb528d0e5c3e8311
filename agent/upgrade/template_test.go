package upgrade

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/config"
)

// TestPrepareOnOverlay: in an image build (podman, docker) the listed paths usually come from
// a lower layer, where overlayfs refuses to rename a directory (EXDEV, redirect_dir=off).
// prepare must then copy with every attribute and remove the original.
func TestPrepareOnOverlay(t *testing.T) {
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root to mount overlayfs")
	}
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		os.MkdirAll(d, 0o755)
	}
	app := filepath.Join(lower, "etc/app")
	os.MkdirAll(filepath.Join(app, "sub"), 0o750)
	os.WriteFile(filepath.Join(app, "a.conf"), []byte("A"), 0o640)
	os.WriteFile(filepath.Join(app, "sub/tool"), []byte("#!/bin/sh\n"), 0o755)
	unix.Chmod(filepath.Join(app, "sub/tool"), 0o4755)
	os.Chown(filepath.Join(app, "a.conf"), 33, 44)
	os.Link(filepath.Join(app, "a.conf"), filepath.Join(app, "sub/hard"))
	os.Symlink("../a.conf", filepath.Join(app, "sub/link"))
	unix.Mkfifo(filepath.Join(app, "fifo"), 0o600)
	old := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(filepath.Join(app, "a.conf"), old, old)
	os.Chtimes(filepath.Join(app, "sub"), old, old)
	unix.Setxattr(filepath.Join(app, "a.conf"), "user.kept", []byte("yes"), 0)

	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work + ",redirect_dir=off"
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("overlayfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })

	if err := os.Rename(filepath.Join(merged, "etc/app"), filepath.Join(merged, "etc/app2")); err == nil {
		t.Fatal("overlayfs renamed a lower directory; this test needs EXDEV")
	}
	yaml := "version: 1\nvolume:\n  paths: [/etc/app]\n"
	cfg, _ := config.Parse("appagent.yaml", []byte(yaml))
	if err := Prepare(merged, cfg, nil); err != nil {
		t.Fatalf("prepare on overlayfs: %v", err)
	}
	if l, _ := os.Readlink(filepath.Join(merged, "etc/app")); l != "/data/etc/app" {
		t.Fatalf("link %q", l)
	}
	tp := filepath.Join(merged, "usr/share/appagent/template/etc/app")
	var a, h, tool, sub, fifo unix.Stat_t
	unix.Lstat(filepath.Join(tp, "a.conf"), &a)
	unix.Lstat(filepath.Join(tp, "sub/hard"), &h)
	unix.Lstat(filepath.Join(tp, "sub/tool"), &tool)
	unix.Lstat(filepath.Join(tp, "sub"), &sub)
	if err := unix.Lstat(filepath.Join(tp, "fifo"), &fifo); err != nil || fifo.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo: %v %o", err, fifo.Mode)
	}
	if a.Uid != 33 || a.Gid != 44 || a.Mode&0o7777 != 0o640 || time.Unix(a.Mtim.Unix()).UTC() != old {
		t.Errorf("a.conf: %d:%d %o %v", a.Uid, a.Gid, a.Mode&0o7777, time.Unix(a.Mtim.Unix()).UTC())
	}
	if a.Ino != h.Ino {
		t.Error("hard link lost")
	}
	if tool.Mode&0o7777 != 0o4755 {
		t.Errorf("setuid lost: %o", tool.Mode&0o7777)
	}
	if sub.Mode&0o7777 != 0o750 || time.Unix(sub.Mtim.Unix()).UTC() != old {
		t.Errorf("dir sub: %o %v", sub.Mode&0o7777, time.Unix(sub.Mtim.Unix()).UTC())
	}
	if l, _ := os.Readlink(filepath.Join(tp, "sub/link")); l != "../a.conf" {
		t.Errorf("symlink %q", l)
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(tp, "a.conf"), "user.kept", buf); err != nil || string(buf[:n]) != "yes" {
		t.Errorf("xattr: %v", err)
	}
	m, err := ParseManifest("m", mustRead(t, filepath.Join(merged, "usr/share/appagent/manifest.json")))
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Get("etc/app/sub/hard"); e == nil || (e.Link != "etc/app/a.conf" && m.Get("etc/app/a.conf").Link != "etc/app/sub/hard") {
		t.Errorf("manifest hard link: %+v", e)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrepareAgainShorterList: a second prepare with a shorter list describes only what is
// listed now (a tree left in the template by the first is not part of the build).
func TestPrepareAgainShorterList(t *testing.T) {
	root, _ := testImage(t, map[string]string{"etc/a/x": "1", "etc/b/y": "2"}, "version: 1\nvolume:\n  paths: [/etc/a, /etc/b]\n")
	cfg, _ := config.Parse("appagent.yaml", []byte("version: 1\nvolume:\n  paths: [/etc/a]\n"))
	if err := Prepare(root, cfg, nil); err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest("m", mustRead(t, filepath.Join(root, "usr/share/appagent/manifest.json")))
	if err != nil {
		t.Fatal(err)
	}
	if m.Get("etc/b/y") != nil || m.Get("etc/b") != nil || m.Get("etc/a/x") == nil || m.Get("etc") == nil {
		t.Errorf("manifest entries: %+v", m.Entries)
	}
}
