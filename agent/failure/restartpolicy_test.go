package failure

import "testing"

func TestWillRestart(t *testing.T) {
	results := []string{"exit-code", "signal", "core-dump", "timeout", "watchdog", "start-limit-hit"}
	want := map[string][]bool{
		"always":      {true, true, true, true, true, false},
		"on-failure":  {true, true, true, true, true, false},
		"on-abnormal": {false, true, true, true, true, false},
		"on-abort":    {false, true, true, false, false, false},
		"on-watchdog": {false, false, false, false, true, false},
		"on-success":  {false, false, false, false, false, false},
		"no":          {false, false, false, false, false, false},
		"":            {false, false, false, false, false, false},
	}
	for policy, w := range want {
		for i, r := range results {
			if got := WillRestart(policy, r); got != w[i] {
				t.Errorf("Restart=%s after %s: %v, want %v", policy, r, got, w[i])
			}
		}
	}
}
