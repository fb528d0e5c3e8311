package params

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/appagent/appagent/agent/config"
)

func TestEnvLine(t *testing.T) {
	for _, tt := range []struct{ value, line string }{
		{"plain", `A="plain"` + "\n"},
		{"", `A=""` + "\n"},
		{`q"uo$te \back ` + "`tick", `A="q\"uo\$te \\back \` + "`" + `tick"` + "\n"},
		{"two\nlines", "A=\"two\nlines\"\n"},
		{"  spaces  ", `A="  spaces  "` + "\n"},
		{`trailing\`, `A="trailing\\"` + "\n"},
		{"#not a comment", `A="#not a comment"` + "\n"},
	} {
		if got := EnvLine("A", tt.value); got != tt.line {
			t.Errorf("EnvLine(%q) = %q, want %q", tt.value, got, tt.line)
		}
	}
}

// The parser follows systemd's on the forms people write by hand, too.
func TestParseEnvFile(t *testing.T) {
	in := "# comment\n; also comment\nA=plain  \nB = spaced value \nC='single \\n $x'\nD=\"dq \\a \\\\ \\$\"\nE=a\\\nb\nF=\n  G=\"multi\nline\"\nA=again\n"
	got, err := ParseEnvFile(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"A": "again", "B": "spaced value", "C": `single \n $x`, "D": `dq \a \ $`, "E": "ab", "F": "", "G": "multi\nline",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
}

// FuzzEnvLine checks that every value Check accepts for a non-secret parameter survives a
// round trip through the EnvironmentFile writer and systemd's parsing rules.
// (integration/params_test.go checks the same values against systemd itself.)
func FuzzEnvLine(f *testing.F) {
	for _, s := range []string{"", "plain", "a\nb", `"'$\` + "`", "\\\n", "  x  ", "#x", "a=b", "é", "\t", "\\", "x\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if _, err := Check(config.Parameter{Name: "A"}, v); err != nil {
			if utf8.ValidString(v) && !strings.ContainsAny(v, "\x00") && !hasCC(v) {
				t.Fatalf("Check rejected a valid value %q: %v", v, err)
			}
			return
		}
		file := "# header\n" + EnvLine("A", v) + EnvLine("B", "after")
		got, err := ParseEnvFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got["A"] != v || got["B"] != "after" {
			t.Fatalf("value %q came back as %q (B=%q) from %q", v, got["A"], got["B"], file)
		}
	})
}

func hasCC(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return true
		}
	}
	return false
}

// FuzzParseEnvFile: the parser must not panic on any input (it reads files people edit).
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=b\n", "A", "=x", "A='", "A=\"\\", "#\\\nA=b", " A = b \\\n c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseEnvFile(s)
	})
}
