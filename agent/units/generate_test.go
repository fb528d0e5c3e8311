package units

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/internal/goldenfile"

	"github.com/appagent/appagent/agent/config"
)

func loadConfig(t *testing.T, name string) *config.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, rep := config.Parse("/etc/appagent/appagent.yaml", data)
	if rep.HasErrors() {
		t.Fatalf("%s: %s", name, rep.String())
	}
	return cfg
}

// render lists generated files in one text, for golden comparison.
func render(g Generated) string {
	var b strings.Builder
	for _, n := range g.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, f := range g.Files {
		dir := "normal"
		if f.Dir == Early {
			dir = "early"
		}
		if f.Link != "" {
			fmt.Fprintf(&b, "=== %s/%s -> %s\n", dir, f.Path, f.Link)
			continue
		}
		fmt.Fprintf(&b, "=== %s/%s\n%s", dir, f.Path, f.Content)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, name+".golden", []byte(got))
}

func TestGenerateGolden(t *testing.T) {
	for _, tt := range []struct {
		name, config, buildID string
	}{
		{"full", "full.yaml", "20261125T150405Z-0123456789abcdef"},
		{"full-no-build-id", "full.yaml", ""},
		{"minimal", "minimal.yaml", "b1"},
		{"upgrade-only", "upgrade-only.yaml", "b2"},
		{"bad-build-id", "upgrade-only.yaml", "../../etc"},
		{"replicated", "replicated.yaml", "b3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, tt.config)
			g := Generate(cfg, Options{BuildID: tt.buildID})
			golden(t, tt.name, render(g))
		})
	}
}

func TestMasks(t *testing.T) {
	got := Masks(config.Container{Mask: []string{"x.service", "getty.target"}, Unmask: []string{"getty.target", "console-setup.service"}})
	s := strings.Join(got, " ")
	if !strings.Contains(s, "x.service") || !strings.Contains(s, "getty.target") || strings.Contains(s, "console-setup.service") || !strings.Contains(s, "systemd-firstboot.service") {
		t.Errorf("Masks = %v", got)
	}
	for _, m := range DefaultMasks {
		if m.Reason == "" {
			t.Errorf("%s has no reason", m.Unit)
		}
	}
}

func TestRunGenerator(t *testing.T) {
	root := t.TempDir()
	normal, early := filepath.Join(t.TempDir(), "normal"), filepath.Join(t.TempDir(), "early")
	var log strings.Builder
	// No declaration: nothing written, success.
	if err := RunGenerator(GeneratorOptions{Root: root, Normal: normal, Early: early, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(normal); err == nil {
		t.Error("wrote files without a declaration")
	}
	if !strings.Contains(log.String(), "nothing to generate") {
		t.Errorf("log = %q", log.String())
	}
	// Invalid declaration: an error naming the problem, nothing written.
	os.MkdirAll(filepath.Join(root, "etc/appagent"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/appagent/appagent.yaml"), []byte("version: 1\nunits: [nonsense]\n"), 0o644)
	if err := RunGenerator(GeneratorOptions{Root: root, Normal: normal, Early: early}); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("invalid declaration: %v", err)
	}
	// A real one, with a build id and the default target found under root.
	data, _ := os.ReadFile("testdata/full.yaml")
	os.WriteFile(filepath.Join(root, "etc/appagent/appagent.yaml"), data, 0o644)
	os.MkdirAll(filepath.Join(root, "usr/share/appagent"), 0o755)
	os.WriteFile(filepath.Join(root, BuildIDFile), []byte("b9\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "lib/systemd/system"), 0o755)
	os.WriteFile(filepath.Join(root, "lib/systemd/system/multi-user.target"), nil, 0o644)
	if err := RunGenerator(GeneratorOptions{Root: root, Normal: normal, Early: early}); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(early, "default.target")); err != nil || l != "/lib/systemd/system/multi-user.target" {
		t.Errorf("default.target -> %q, %v", l, err)
	}
	if l, _ := os.Readlink(filepath.Join(early, "systemd-firstboot.service")); l != "/dev/null" {
		t.Errorf("systemd-firstboot not masked: %q", l)
	}
	if l, _ := os.Readlink(filepath.Join(normal, "multi-user.target.wants", ConfigureUnit)); l != "../"+ConfigureUnit {
		t.Errorf("configure not enabled: %q", l)
	}
	up, err := os.ReadFile(filepath.Join(normal, UpgradeUnit))
	if err != nil || !strings.Contains(string(up), "upgrade-b9") {
		t.Errorf("upgrade unit: %v\n%s", err, up)
	}
	if _, err := os.Stat(filepath.Join(normal, "apache2.service.d", DropInName)); err != nil {
		t.Error(err)
	}
	// Generators run again at daemon-reload into the same (cleared) dirs; a second run over
	// existing files must work too.
	if err := RunGenerator(GeneratorOptions{Root: root, Normal: normal, Early: early}); err != nil {
		t.Fatalf("second run: %v", err)
	}
}

func TestStamp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".appagent/stamps")
	if err := Stamp(dir, []string{"configure", "upgrade-b1"}, []string{"reconfigure-pending"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"configure", "upgrade-b1"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Error(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "reconfigure-pending"), []byte("x"), 0o644)
	if err := Stamp(dir, nil, []string{"reconfigure-pending"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "reconfigure-pending")); err == nil {
		t.Error("not removed")
	}
	for _, bad := range []string{"../x", "", "a/b", ".hidden"} {
		if err := Stamp(dir, []string{bad}, nil); err == nil {
			t.Errorf("stamp %q accepted", bad)
		}
	}
}

// TestStampNeverFollowsAPlantedLink: a stamps directory planted as a symlink to a directory
// outside the volume is refused; nothing is written there.
func TestStampNeverFollowsAPlantedLink(t *testing.T) {
	vol, outside := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(vol, ".appagent"), 0o700)
	if err := os.Symlink(outside, filepath.Join(vol, ".appagent/stamps")); err != nil {
		t.Fatal(err)
	}
	err := Stamp(filepath.Join(vol, ".appagent/stamps"), []string{"configure"}, nil)
	if err == nil || !strings.Contains(err.Error(), vol+"/.appagent/stamps") {
		t.Errorf("a planted stamps link: %v, want an error naming it", err)
	}
	if names, _ := os.ReadDir(outside); len(names) != 0 {
		t.Errorf("written through the link: %v", names)
	}
	if err := Stamp(filepath.Join(t.TempDir(), "stamps"), []string{"configure"}, nil); err == nil {
		t.Error("a directory that is not <volume>/.appagent/stamps was accepted")
	}
}

// unitValues returns the values of key= lines in a unit file, as written.
func unitValues(content, key string) []string {
	var out []string
	for _, l := range strings.Split(content, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// execWords splits an ExecStart= value the way systemd does (extract_first_word with
// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE, the subset the generator can produce), then undoes the
// %% and $$ escapes; an unescaped % or $ is reported as an error.
func execWords(t *testing.T, v string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	in, inWord := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			w.WriteByte(v[i])
			inWord = true
		case c == '"':
			in = !in
			inWord = true
		case (c == ' ' || c == '\t') && !in:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	for i, s := range words {
		words[i] = unescapeSpecifiers(t, s, true)
	}
	return words
}

// unescapeSpecifiers undoes %% (and $$ in command lines, where systemd expands $VAR; other
// keys take $ literally).
func unescapeSpecifiers(t *testing.T, s string, dollar bool) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || (dollar && s[i] == '$') {
			if i+1 < len(s) && s[i+1] == s[i] {
				i++
			} else if s[i] == '%' && i+1 < len(s) && s[i+1] == 'n' {
				// %n is the one specifier the generator means (report-failure's unit).
			} else {
				t.Errorf("unescaped %c in %q: systemd would expand it", s[i], s)
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestGenerateEscapesVolumePath: the volume path goes into ConditionPathExists=,
// EnvironmentFile= and the stamp command of the hook units. systemd expands % specifiers in
// all of them, and splits ExecStart= lines at spaces and expands $VAR there: a volume path
// with a space, % or $ must reach the stamp command and the conditions unchanged.
func TestGenerateEscapesVolumePath(t *testing.T) {
	for _, vol := range []string{"/data", "/srv/my data", "/srv/100%disk", "/srv/$HOME", `/srv/q"uo\te`} {
		t.Run(vol, func(t *testing.T) {
			cfg := loadConfig(t, "full.yaml")
			cfg.Volume.Path = vol
			g := Generate(cfg, Options{BuildID: "b1"})
			stamps := vol + "/.appagent/stamps"
			seen := 0
			for _, f := range g.Files {
				if f.Path != ConfigureUnit && f.Path != UpgradeUnit && f.Path != ReconfigureUnit {
					continue
				}
				seen++
				for _, c := range unitValues(f.Content, "ConditionPathExists") {
					got := unescapeSpecifiers(t, strings.TrimPrefix(c, "!"), false)
					if !strings.HasPrefix(got, stamps+"/") {
						t.Errorf("%s: ConditionPathExists=%s reads as %q, not under %q", f.Path, c, got, stamps)
					}
				}
				for _, e := range unitValues(f.Content, "EnvironmentFile") {
					got := unescapeSpecifiers(t, strings.TrimPrefix(e, "-"), false)
					if !strings.HasPrefix(got, "/run/appagent/") && got != stamps+"/"+"reconfigure-pending" {
						t.Errorf("%s: EnvironmentFile=%s reads as %q", f.Path, e, got)
					}
				}
				for _, e := range unitValues(f.Content, "ExecStartPost") {
					w := execWords(t, e)
					if len(w) < 4 || w[1] != "stamp" || w[2] != "--dir" || w[3] != stamps {
						t.Errorf("%s: ExecStartPost=%s reads as %q; want --dir %q", f.Path, e, w, stamps)
					}
				}
			}
			if seen != 3 {
				t.Fatalf("%d hook units generated, want 3", seen)
			}
		})
	}
}

// TestHookTimeout: systemd reads TimeoutStartSec=0 as "no timeout", so a declared timeout
// under a second must not round down to 0s.
func TestHookTimeout(t *testing.T) {
	for _, tt := range []struct {
		timeout time.Duration
		want    string
	}{
		{0, "infinity"},
		{300 * time.Millisecond, "1s"},
		{1500 * time.Millisecond, "2s"},
		{10 * time.Minute, "600s"},
	} {
		cfg := loadConfig(t, "minimal.yaml")
		cfg.Hooks.Configure = &config.Hook{Command: "/bin/true", Timeout: config.Duration{Duration: tt.timeout}}
		g := Generate(cfg, Options{})
		for _, f := range g.Files {
			if f.Path == ConfigureUnit {
				if got := unitValues(f.Content, "TimeoutStartSec"); len(got) != 1 || got[0] != tt.want {
					t.Errorf("timeout %v: TimeoutStartSec=%v, want %s", tt.timeout, got, tt.want)
				}
			}
		}
	}
}
