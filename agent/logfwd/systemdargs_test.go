package logfwd

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSystemdArgs(t *testing.T) {
	dir := t.TempDir()
	systemd := filepath.Join(dir, "systemd")
	os.WriteFile(systemd, []byte("#!/bin/sh\n"), 0o755)
	init := filepath.Join(dir, "init")
	os.Symlink("systemd", init)
	other := filepath.Join(dir, "my-init")
	os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755)

	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo terminal here: %v", err)
	}
	defer tty.Close()
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()

	cases := []struct {
		name    string
		init    string
		stdout  *os.File
		console *Console
		want    []string
	}{
		{"terminal, systemd via symlink", init, tty, nil, []string{"--show-status=no"}},
		{"terminal, systemd", systemd, tty, nil, []string{"--show-status=no"}},
		{"pipe (no -t)", init, w, nil, nil},
		{"pipe and the console init made", init, w, &Console{}, []string{"--show-status=no"}},
		{"terminal, not systemd", other, tty, nil, nil},
		{"no stdout", init, nil, nil, nil},
	}
	for _, c := range cases {
		if got := SystemdArgs(c.init, c.stdout, c.console); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
