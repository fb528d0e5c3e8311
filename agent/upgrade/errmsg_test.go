package upgrade

import (
	"os"
	"strings"
	"testing"
)

// A problem on the volume that a restart cannot fix says which path is in the way and what
// to do about it.
func TestVolumeErrorsSayHowToFix(t *testing.T) {
	t.Run("state dir is a file", func(t *testing.T) {
		vol := t.TempDir()
		write(t, vol+"/.appagent", "not a directory")
		_, err := Lock(vol)
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range []string{vol + "/.appagent", "not a directory", "move it away"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q: %v", w, err)
			}
		}
	})
	t.Run("NAME.appagent-new is a directory", func(t *testing.T) {
		root1, cfg1 := testImage(t, filesV1, yamlV1)
		vol := t.TempDir()
		if _, out, err := syncVol(t, root1, vol, cfg1); err != nil {
			t.Fatalf("populate: %v\n%s", err, out)
		}
		write(t, vol+"/etc/app/b.conf", "B-user")
		os.MkdirAll(vol+"/etc/app/b.conf.appagent-new/mine", 0o755)
		files2 := map[string]string{}
		for k, v := range filesV1 {
			files2[k] = v
		}
		files2["etc/app/b.conf"] = "B2"
		root2, cfg2 := testImage(t, files2, yamlV1)
		_, out, err := syncVol(t, root2, vol, cfg2)
		if err == nil {
			t.Fatalf("no error:\n%s", out)
		}
		for _, w := range []string{vol + "/etc/app/b.conf.appagent-new", "is a directory", "move it away"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q: %v", w, err)
			}
		}
		if _, err := os.Stat(vol + "/etc/app/b.conf.appagent-new/mine"); err != nil {
			t.Errorf("the directory in the way was touched: %v", err)
		}
	})
}

// A huge (sparse) state file is refused from its size, before it is read.
func TestHugeStateFileRefused(t *testing.T) {
	vol := t.TempDir()
	if err := os.MkdirAll(vol+"/.appagent", 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(vol + "/.appagent/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxManifest + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	v, err := openVFS(vol)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := readManifest(v); err == nil || !strings.Contains(err.Error(), "more than the") || !strings.Contains(err.Error(), "manifest.json") {
		t.Fatalf("a %d-byte manifest: %v", maxManifest+1, err)
	}
}
