package environ

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// PID1 is the container's environment.
const PID1 = "/proc/1/environ"

// maxSize bounds what is read: the kernel caps an environment at a fraction of the stack
// limit, and a file of that name on a test's disk must not cost more.
const maxSize = 16 << 20

// Read returns the NUL-separated NAME=value entries of path (such as /proc/PID/environ), in
// order, without empty entries.
func Read(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the container's environment: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the container's environment: %w", err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("reading the container's environment: %s is larger than %d MiB", path, maxSize>>20)
	}
	var env []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		if len(kv) > 0 {
			env = append(env, string(kv))
		}
	}
	return env, nil
}

// Map is env as a map; a later entry for a name wins, as for a process's getenv.
func Map(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// ReadMap is Map(Read(path)).
func ReadMap(path string) (map[string]string, error) {
	env, err := Read(path)
	if err != nil {
		return nil, err
	}
	return Map(env), nil
}
