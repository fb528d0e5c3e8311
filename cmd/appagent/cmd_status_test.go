package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestWaitFlag(t *testing.T) {
	cases := []struct {
		args []string
		on   bool
		d    time.Duration
		bad  bool
	}{
		{nil, false, 0, false},
		{[]string{"--wait"}, true, defaultWait, false},
		{[]string{"--wait=90s"}, true, 90 * time.Second, false},
		{[]string{"--wait=10m", "--json"}, true, 10 * time.Minute, false},
		{[]string{"--wait=false"}, false, defaultWait, false},
		{[]string{"--wait=soon"}, false, 0, true},
		{[]string{"--wait=-5s"}, false, 0, true},
	}
	for _, tc := range cases {
		var w waitFlag
		fs := flag.NewFlagSet("status", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Var(&w, "wait", "")
		fs.Bool("json", false, "")
		err := fs.Parse(tc.args)
		if (err != nil) != tc.bad {
			t.Errorf("%v: error %v, want error %v", tc.args, err, tc.bad)
			continue
		}
		if !tc.bad && (w.on != tc.on || (tc.on && w.d != tc.d)) {
			t.Errorf("%v: on=%v d=%v, want on=%v d=%v", tc.args, w.on, w.d, tc.on, tc.d)
		}
	}
}
