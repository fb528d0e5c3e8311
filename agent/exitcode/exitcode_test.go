package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestTableUnique(t *testing.T) {
	codes, names := map[Code]bool{}, map[string]bool{}
	for _, e := range Table {
		if codes[e.Code] || names[e.Name] {
			t.Errorf("code %d or name %q used twice", e.Code, e.Name)
		}
		codes[e.Code], names[e.Name] = true, true
		if e.Code < 0 || e.Code > 255 {
			t.Errorf("code %d is not a valid exit status", e.Code)
		}
	}
}

func TestOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{base, Failure},
		{With(Params, base), Params},
		{fmt.Errorf("outer: %w", With(Upgrade, base)), Upgrade},
		{Withf(VolumeLocked, "in use: %w", base), VolumeLocked},
	}
	for _, tc := range tests {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if With(Params, nil) != nil {
		t.Error("With(nil) must stay nil")
	}
	if !errors.Is(With(Params, base), base) {
		t.Error("With must unwrap")
	}
}
