package upgrade

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Both resolvers (openat2, and the O_NOFOLLOW walk of kernels before 5.6) refuse every path
// that would go through a symlink planted in the volume, and never touch the link's target.
func TestVFSNeverFollowsLinks(t *testing.T) {
	for _, mode := range []struct {
		name    string
		openat2 bool
	}{{"openat2", true}, {"walk", false}} {
		t.Run(mode.name, func(t *testing.T) {
			vol, outside := t.TempDir(), t.TempDir()
			write(t, outside+"/secret", "secret")
			os.MkdirAll(vol+"/etc/real", 0o755)
			write(t, vol+"/etc/real/f", "in the volume")
			os.Symlink(outside, vol+"/etc/out")         // a directory link out of the volume
			os.Symlink("real", vol+"/etc/in")           // a directory link inside the volume
			os.Symlink(outside+"/secret", vol+"/etc/s") // a file link out of the volume
			v, err := openVFS(vol)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if mode.openat2 && !v.openat2 {
				t.Log("openat2 is not available on this kernel: this run uses the walk too")
			}
			v.openat2 = v.openat2 && mode.openat2

			if h, err := v.hashFile("etc/real/f"); err != nil || h == "" {
				t.Fatalf("a plain path: %q %v", h, err)
			}
			for _, rel := range []string{"etc/out/secret", "etc/in/f"} {
				if _, err := v.lstat(rel); !errors.Is(err, errBlocked) {
					t.Errorf("lstat %s: %v, want errBlocked", rel, err)
				}
				if _, err := v.hashFile(rel); err == nil {
					t.Errorf("hashFile %s followed the link", rel)
				}
				if err := v.writeFileAtomic(rel, []byte("x"), 0o644); err == nil {
					t.Errorf("writeFileAtomic %s followed the link", rel)
				}
				if err := v.unlink(rel); err == nil {
					t.Errorf("unlink %s followed the link", rel)
				}
				if err := v.removeAll(rel + "/.."); err == nil {
					t.Errorf("removeAll %s/.. accepted", rel)
				}
			}
			if _, err := v.hashFile("etc/s"); !errors.Is(err, unix.ELOOP) {
				t.Errorf("hashFile of a final link: %v, want ELOOP", err)
			}
			if _, err := v.readSmall("etc/s", 100); err == nil {
				t.Error("readSmall followed a final link")
			}
			if err := v.removeAll("etc/out"); err != nil {
				t.Fatal(err)
			}
			if got := read(t, outside+"/secret"); got != "secret" {
				t.Errorf("the target outside the volume changed: %q", got)
			}
			if _, err := os.Lstat(vol + "/etc/out"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("removeAll of a link left it: %v", err)
			}
			if err := v.writeFileAtomic("etc/s", []byte("replaced"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := read(t, outside+"/secret"); got != "secret" {
				t.Errorf("writing over a final link wrote its target: %q", got)
			}
		})
	}
}
