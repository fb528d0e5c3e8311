package upgrade

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDamagedManifestFoundAndRepaired: a start on an up-to-date volume finds a damaged,
// missing or foreign manifest, says so, and rewrites it from the image's copy (the next
// upgrade then plans from the true record); doctor's VerifyRecord reports the same damage
// without changing anything.
func TestDamagedManifestFoundAndRepaired(t *testing.T) {
	root, cfg := testImage(t, filesV1, yamlV1)
	good := read(t, root+ImageMetaDir+"/manifest.json")
	cases := []struct {
		name   string
		damage func(vol string)
		says   string
	}{
		{"truncated", func(vol string) { write(t, vol+"/.appagent/manifest.json", good[:len(good)/2]) }, "is damaged"},
		{"zeroed", func(vol string) { write(t, vol+"/.appagent/manifest.json", strings.Repeat("\x00", 64)) }, "is damaged"},
		{"missing", func(vol string) { os.Remove(vol + "/.appagent/manifest.json") }, "is missing"},
		{"other build", func(vol string) {
			write(t, vol+"/.appagent/manifest.json", strings.Replace(good, readBuildIDFile(t, root), "20200101T000000Z-0000000000000000", 1))
		}, "is for build 20200101T000000Z-0000000000000000"},
		{"a fifo", func(vol string) {
			os.Remove(vol + "/.appagent/manifest.json")
			if err := unix.Mkfifo(vol+"/.appagent/manifest.json", 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vol := t.TempDir()
			if _, out, err := syncVol(t, root, vol, cfg); err != nil {
				t.Fatalf("populate: %v\n%s", err, out)
			}
			if d, err := VerifyRecord(Options{Config: cfg, Root: root, Volume: vol}); err != nil || !strings.Contains(d, "its manifest is that build's") {
				t.Fatalf("sound volume: %q %v", d, err)
			}
			c.damage(vol)
			_, err := VerifyRecord(Options{Config: cfg, Root: root, Volume: vol})
			if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), vol+"/.appagent/manifest.json") {
				t.Fatalf("doctor's check: %v, want %q and the path", err, c.says)
			}
			p, out, err := syncVol(t, root, vol, cfg)
			if err != nil || p.Kind != KindUpToDate {
				t.Fatalf("start: %+v %v\n%s", p, err, out)
			}
			if !strings.Contains(out, "warning: ") || !strings.Contains(out, c.says) || !strings.Contains(out, "rewritten from this image's copy") {
				t.Errorf("start output does not say it:\n%s", out)
			}
			if got := read(t, vol+"/.appagent/manifest.json"); got != good {
				t.Errorf("manifest not restored")
			}
			if _, err := VerifyRecord(Options{Config: cfg, Root: root, Volume: vol}); err != nil {
				t.Errorf("after repair: %v", err)
			}
			_, out, _ = syncVol(t, root, vol, cfg)
			if strings.Contains(out, "warning") {
				t.Errorf("a second start still warns:\n%s", out)
			}
		})
	}
}

func readBuildIDFile(t *testing.T, root string) string {
	return strings.TrimSpace(read(t, root+ImageMetaDir+"/build-id"))
}
