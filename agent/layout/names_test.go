package layout

import (
	"regexp"
	"strings"
	"testing"
)

// The grammar the regular expressions said, held against them.
var (
	buildIDRe   = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$`)
	stampNameRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._:-]{0,200}$`)
)

func TestNames(t *testing.T) {
	for _, s := range []string{"", "a", "20261202T145322Z-4a61f92d99e3419b", "-x", ".x", "a/b", "a\nb", "a..b", "ä",
		"upgrade-20261202T145322Z-4a61f92d99e3419b", strings.Repeat("a", 128), strings.Repeat("a", 129), strings.Repeat("b", 201), strings.Repeat("b", 202), "a b", "A:b_c.d-e"} {
		if got, want := ValidBuildID(s), buildIDRe.MatchString(s); got != want {
			t.Errorf("ValidBuildID(%q) = %v, want %v", s, got, want)
		}
		if got, want := ValidStampName(s), stampNameRe.MatchString(s); got != want {
			t.Errorf("ValidStampName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzNames(f *testing.F) {
	f.Add("20261202T145322Z-4a61f92d99e3419b")
	f.Add("a/b")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidBuildID(s) != buildIDRe.MatchString(s) || ValidStampName(s) != stampNameRe.MatchString(s) {
			t.Fatalf("%q: the grammar differs from the regular expression", s)
		}
	})
}
