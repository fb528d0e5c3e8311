package upgrade

import (
	"bytes"
	"os"
	"path/filepath"
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

// sameMapped: equal bytes, a difference in the last byte, and a file shorter than its mapping
// (cut short after its size was taken: reading past its end faults), which is a difference,
// not a crash.
func TestSameMapped(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) *os.File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	data := bytes.Repeat([]byte("manifest "), 3*4096/9+1)
	other := append([]byte{}, data...)
	other[len(other)-1] ^= 1
	a, b, c := write("a", data), write("b", data), write("c", other)
	short := write("short", data[:4096]) // its first page equal: the compare reads on into the second
	n := int64(len(data))
	for _, tc := range []struct {
		name     string
		x, y     *os.File
		same, ok bool
	}{
		{"equal", a, b, true, true},
		{"last byte differs", a, c, false, true},
		{"cut short", a, short, false, true},
	} {
		if same, ok := sameMapped(tc.x, tc.y, n); same != tc.same || ok != tc.ok {
			t.Errorf("%s: same %v ok %v, want %v %v", tc.name, same, ok, tc.same, tc.ok)
		}
	}
}
