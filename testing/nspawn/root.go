package nspawn

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

// HarnessVersion is part of every cache key: raise it when the way roots are built or
// post-processed changes, so that stale cached roots are not reused.
const HarnessVersion = "1"

// BasePackages are in every root: what a systemd container needs.
var BasePackages = []string{"systemd", "systemd-sysv", "dbus"}

const (
	// DefaultSuite is the Debian release of every root (Debian 12, systemd 252);
	// APPAGENT_TEST_SUITE overrides it for a whole test run (`make test-debian13` runs the
	// core integration tests on trixie, systemd 257).
	DefaultSuite = "bookworm"
	variant      = "minbase"
	// DefaultMirror is the Debian mirror; APPAGENT_TEST_MIRROR overrides it.
	DefaultMirror = "http://deb.debian.org/debian"
	// Hostname of every test root.
	Hostname = "appagent-test"
	// buildTimeout bounds one debootstrap run.
	buildTimeout = 20 * time.Minute
)

// Suite is the Debian release the roots of this test run are made from.
func Suite() string {
	if s := os.Getenv("APPAGENT_TEST_SUITE"); s != "" {
		return s
	}
	return DefaultSuite
}

func mirror() string {
	if m := os.Getenv("APPAGENT_TEST_MIRROR"); m != "" {
		return m
	}
	return DefaultMirror
}

// Packages returns the sorted, de-duplicated package list of a root: BasePackages plus pkgs.
func Packages(pkgs ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range append(append([]string{}, BasePackages...), pkgs...) {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// DebootstrapArgs are the arguments of the debootstrap run that builds a root at target.
func DebootstrapArgs(target string, pkgs ...string) []string {
	return []string{"--variant=" + variant, "--include=" + strings.Join(Packages(pkgs...), ","), Suite(), target, mirror()}
}

// Key names a root by everything that makes it: the harness version, the debootstrap
// arguments (suite, variant, mirror) and the package list (order and duplicates do not count).
func Key(pkgs ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "harness=%s\n", HarnessVersion)
	for _, a := range DebootstrapArgs("TARGET", pkgs...) {
		fmt.Fprintf(h, "arg=%s\n", a)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// rootsDir holds roots/<key>/rootfs (complete roots only: they appear by rename) and
// roots/<key>.lock.
func rootsDir() string { return filepath.Join(harness.CacheDir, "roots") }

// Root returns the cached Debian root (Suite) with systemd, systemd-sysv, dbus and pkgs, building
// it first if needed. The returned directory is shared by every test and every run: treat it
// as READ-ONLY (Boot mounts an overlay over it). Concurrent test processes build a key once;
// the others wait for it and never see a half-built root.
func Root(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir, err := root(t, pkgs...)
	if err != nil {
		t.Fatalf("nspawn: root with packages %v: %v", Packages(pkgs...), err)
	}
	return dir
}

func root(t testing.TB, pkgs ...string) (string, error) {
	key := Key(pkgs...)
	final := filepath.Join(rootsDir(), key)
	rootfs := filepath.Join(final, "rootfs")
	if _, err := os.Stat(rootfs); err == nil {
		t.Logf("nspawn: using cached root %s", key)
		return rootfs, nil
	}
	unlock, err := harness.Lock(final + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(rootfs); err == nil {
		t.Logf("nspawn: using cached root %s (built by another test process)", key)
		return rootfs, nil
	}
	// We hold the key's lock: any temp dir of this key is a crashed build's leftover.
	stale, _ := filepath.Glob(filepath.Join(rootsDir(), ".tmp-"+key+"-*"))
	for _, s := range stale {
		if err := harness.RemoveDir(s); err != nil {
			return "", fmt.Errorf("remove a crashed build's leftover: %w", err)
		}
	}
	t.Logf("nspawn: building root %s (~30 s) with packages %s", key, strings.Join(Packages(pkgs...), ","))
	start := time.Now()
	tmp, err := os.MkdirTemp(rootsDir(), ".tmp-"+key+"-")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			_ = harness.RemoveDir(tmp)
		}
	}()
	target := filepath.Join(tmp, "rootfs")
	args := DebootstrapArgs(target, pkgs...)
	logPath := filepath.Join(rootsDir(), key+".log")
	r, err := harness.Run(buildTimeout, nil, nil, "debootstrap", args...)
	_ = os.WriteFile(logPath, []byte(r.Stdout+r.Stderr), 0o644)
	if err != nil {
		return "", fmt.Errorf("%w\nlog: %s", err, logPath)
	}
	if r.Code != 0 {
		return "", fmt.Errorf("debootstrap %s exited %d (is a Debian mirror reachable? a package name wrong?); last lines of %s:\n%s",
			strings.Join(args, " "), r.Code, logPath, harness.Tail(r.Stdout+r.Stderr, 25))
	}
	if err := finish(target); err != nil {
		return "", err
	}
	info, _ := json.MarshalIndent(map[string]any{
		"key": key, "harness": HarnessVersion, "debootstrap": args, "packages": Packages(pkgs...),
		"built": time.Now().UTC().Format(time.RFC3339), "seconds": int(time.Since(start).Seconds()),
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "info.json"), info, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("publish root: %w", err)
	}
	ok = true
	if d, err := os.Open(rootsDir()); err == nil {
		_ = d.Sync()
		d.Close()
	}
	t.Logf("nspawn: built root %s in %s", key, time.Since(start).Round(time.Second))
	return rootfs, nil
}

// finish makes a fresh debootstrap root a good template for many containers.
func finish(root string) error {
	steps := []struct {
		what string
		do   func() error
	}{
		// An empty machine-id makes systemd give each container its own id at boot (from
		// nspawn's container uuid or at random) instead of all sharing the build's one. The
		// D-Bus copy must go too, or systemd initialises the machine id from it.
		{"empty /etc/machine-id", func() error { return os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444) }},
		{"link /var/lib/dbus/machine-id", func() error {
			p := filepath.Join(root, "var/lib/dbus/machine-id")
			_ = os.Remove(p)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			return os.Symlink("/etc/machine-id", p)
		}},
		{"write /etc/hostname", func() error {
			return os.WriteFile(filepath.Join(root, "etc/hostname"), []byte(Hostname+"\n"), 0o644)
		}},
		{"write /etc/hosts", func() error {
			return os.WriteFile(filepath.Join(root, "etc/hosts"),
				[]byte("127.0.0.1\tlocalhost\n127.0.1.1\t"+Hostname+"\n::1\tlocalhost ip6-localhost ip6-loopback\n"), 0o644)
		}},
		{"drop downloaded .deb files", func() error {
			debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
			for _, d := range debs {
				if err := os.Remove(d); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("finish root %s: %s: %w", root, s.what, err)
		}
	}
	return nil
}
