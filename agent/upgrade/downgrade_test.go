package upgrade

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// builtAt runs testImage with the clock at t (build ids carry their build time).
func builtAt(t *testing.T, at time.Time, files map[string]string, yaml string) (string, *config.Config) {
	t.Helper()
	old := timeNow
	timeNow = func() time.Time { return at }
	defer func() { timeNow = old }()
	return testImage(t, files, yaml)
}

// TestDowngradePolicy: an older image on a volume a newer one wrote is refused by default
// with code 14 and the one-start consent named; --plan says it is a downgrade; the consent or
// volume.downgrade: allow lets it run, with a warning, and files go back to the old build.
func TestDowngradePolicy(t *testing.T) {
	files2 := map[string]string{}
	for k, v := range filesV1 {
		files2[k] = v
	}
	files2["etc/app/a.conf"] = "A2"
	oldRoot, oldCfg := builtAt(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), filesV1, yamlV1)
	newRoot, newCfg := builtAt(t, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), files2, yamlV1)

	fresh := func() string {
		vol := t.TempDir()
		if _, out, err := syncVol(t, newRoot, vol, newCfg); err != nil {
			t.Fatalf("populate with the newer image: %v\n%s", err, out)
		}
		return vol
	}
	vol := fresh()
	_, out, err := syncVol(t, oldRoot, vol, oldCfg)
	if exitcode.Of(err) != exitcode.VolumeNewer || !strings.Contains(err.Error(), DowngradeEnv+"=allow") || !strings.Contains(err.Error(), "downgrade") {
		t.Fatalf("downgrade by default: code %d, %v\n%s", exitcode.Of(err), err, out)
	}
	if got := read(t, vol+"/etc/app/a.conf"); got != "A2" {
		t.Errorf("a refused downgrade changed a file: %q", got)
	}
	p, err := PlanVolume(Options{Config: oldCfg, Root: oldRoot, Volume: vol})
	if err != nil || !p.Downgrade {
		t.Fatalf("plan: %+v %v", p, err)
	}
	var text strings.Builder
	p.WriteText(&text)
	if !strings.Contains(text.String(), "this is a downgrade") {
		t.Errorf("plan text does not say it:\n%s", text.String())
	}

	var o strings.Builder
	if _, err := Sync(Options{Config: oldCfg, Root: oldRoot, Volume: vol, Out: &o, AllowDowngrade: true}); err != nil {
		t.Fatalf("downgrade with consent: %v\n%s", err, o.String())
	}
	if !strings.Contains(o.String(), "warning: this is a downgrade") {
		t.Errorf("no warning:\n%s", o.String())
	}
	if got := read(t, vol+"/etc/app/a.conf"); got != "A1" {
		t.Errorf("a.conf after the downgrade = %q, want the old build's", got)
	}
	// The newer image takes it up again without a word about downgrades.
	if _, out, err := syncVol(t, newRoot, vol, newCfg); err != nil || strings.Contains(out, "downgrade") {
		t.Fatalf("upgrade again: %v\n%s", err, out)
	}

	allow := *oldCfg
	allow.Volume.Downgrade = config.DowngradeAllow
	vol = fresh()
	if _, out, err := syncVol(t, oldRoot, vol, &allow); err != nil || !strings.Contains(out, "warning: this is a downgrade") {
		t.Fatalf("volume.downgrade: allow: %v\n%s", err, out)
	}
}

func TestIsDowngrade(t *testing.T) {
	for _, c := range []struct {
		vol, img string
		want     bool
	}{
		{"20260601T000000Z-aa", "20260101T000000Z-bb", true},
		{"20260101T000000Z-aa", "20260601T000000Z-bb", false},
		{"20260101T000000Z-aa", "20260101T000000Z-bb", false}, // same second: order unknown
		{"custom-1", "20260101T000000Z-bb", false},
		{"", "20260101T000000Z-bb", false},
	} {
		if got := isDowngrade(c.vol, c.img); got != c.want {
			t.Errorf("isDowngrade(%q, %q) = %v", c.vol, c.img, got)
		}
	}
	for _, v := range []string{"yes", "1", "ALLOW"} {
		if _, err := AllowDowngradeEnv(v); exitcode.Of(err) != exitcode.Config {
			t.Errorf("%s=%q accepted", DowngradeEnv, v)
		}
	}
}
