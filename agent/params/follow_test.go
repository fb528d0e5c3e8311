package params

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/internal/syncbuf"
)

// kubeDir writes files the way the kubelet's AtomicWriter does: the values in a dated
// directory, ..data a symlink to it, each NAME a symlink to ..data/NAME; a new version is a
// new directory and a rename of ..data_tmp over ..data, then the old directory goes.
type kubeDir struct {
	t   *testing.T
	dir string
	gen int
	old string
}

func (k *kubeDir) write(values map[string]string) {
	k.t.Helper()
	k.gen++
	ts := filepath.Join(k.dir, "..2026_12_01_00_00_0"+string(rune('0'+k.gen)))
	if err := os.Mkdir(ts, 0o755); err != nil {
		k.t.Fatal(err)
	}
	for n, v := range values {
		if err := os.WriteFile(filepath.Join(ts, n), []byte(v), 0o400); err != nil {
			k.t.Fatal(err)
		}
		link := filepath.Join(k.dir, n)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", n), link); err != nil {
				k.t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(k.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(k.dir, "..data")); err != nil {
		k.t.Fatal(err)
	}
	if k.old != "" {
		os.RemoveAll(k.old)
	}
	k.old = ts
}

func TestFollowKubernetesFiles(t *testing.T) {
	root := t.TempDir()
	secrets, volume, run := filepath.Join(root, "secrets"), filepath.Join(root, "data"), filepath.Join(root, "run")
	for _, d := range []string{secrets, volume} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := filepath.Join(root, "appagent.yaml")
	os.WriteFile(cfgFile, []byte(`volume: {path: `+volume+`}
parameters:
  - {name: APP_URL, description: the URL, on_change: reconfigure}
  - {name: APP_PASSWORD, description: a password, secret: true, on_change: reconfigure}
  - {name: APP_USER, description: the user, on_change: ignore}
  - {name: APP_FQDN, description: the name, type: fqdn, on_change: refuse}
  - {name: APP_PORT, description: the port, type: port, on_change: reconfigure}
hooks:
  reconfigure: /bin/true
`), 0o644)
	environ := filepath.Join(root, "environ")
	os.WriteFile(environ, []byte("PATH=/bin\x00"), 0o644)

	k := &kubeDir{t: t, dir: secrets}
	first := map[string]string{"APP_URL": "http://a", "APP_PASSWORD": "sentinel-old-pw", "APP_USER": "alice", "APP_FQDN": "a.example.org", "APP_PORT": "80"}
	k.write(first)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	// What init did at the start: the given values are stored.
	set, err := ResolveAtStart(cfg, nil, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if err := Commit(volume, set); err != nil {
		t.Fatal(err)
	}

	var logs syncbuf.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
	started := make(chan string, 10)
	task := &Task{ConfigPath: cfgFile, RuntimeDir: run, SecretsDir: secrets, EnvironFile: environ,
		StartUnit: func(ctx context.Context, name string) error { started <- name; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done, err := task.Start(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("follow ended with %v", err)
		}
	}()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("%s: timed out; log:\n%s", what, logs.String())
	}
	file := func(p string) string { b, _ := os.ReadFile(p); return string(b) }

	// 1. reconfigure parameters (a secret among them) change: files, store, hook.
	second := map[string]string{"APP_URL": "http://b", "APP_PASSWORD": "sentinel-new-pw", "APP_USER": "alice", "APP_FQDN": "a.example.org", "APP_PORT": "80"}
	k.write(second)
	select {
	case u := <-started:
		if u != ReconfigureUnit {
			t.Errorf("started %s", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the reconfigure hook was not started; log:\n%s", logs.String())
	}
	if got := file(filepath.Join(run, ParamsDirName, "APP_URL")); got != "http://b" {
		t.Errorf("APP_URL for units = %q", got)
	}
	if got := file(CredentialPath(run, "APP_PASSWORD")); got != "sentinel-new-pw" {
		t.Errorf("the credential was not rewritten: %q", got)
	}
	if p := file(filepath.Join(volume, StampsDir, ReconfigurePending)); !strings.Contains(p, "APP_PASSWORD APP_URL") {
		t.Errorf("pending mark: %q", p)
	}
	if st, _ := LoadStored(volume); st.Values["APP_URL"].Value != "http://b" {
		t.Errorf("stored: %+v", st.Values["APP_URL"])
	}

	// 2. ignore: a warning, no change.
	third := map[string]string{"APP_URL": "http://b", "APP_PASSWORD": "sentinel-new-pw", "APP_USER": "bob", "APP_FQDN": "a.example.org", "APP_PORT": "80"}
	k.write(third)
	wait("the ignored change is said", func() bool {
		return strings.Contains(logs.String(), "APP_USER") && strings.Contains(logs.String(), "on_change: ignore")
	})
	if got := file(filepath.Join(run, ParamsDirName, "APP_USER")); got != "alice" {
		t.Errorf("an on_change: ignore parameter changed while running: %q", got)
	}

	// 3. refuse: an error, no change; 4. an invalid value: an error, nothing changed.
	fourth := map[string]string{"APP_URL": "http://c", "APP_PASSWORD": "sentinel-new-pw", "APP_USER": "alice", "APP_FQDN": "b.example.org", "APP_PORT": "80"}
	k.write(fourth)
	wait("the refused change is said", func() bool { return strings.Contains(logs.String(), "refuses to change") })
	fifth := map[string]string{"APP_URL": "http://d", "APP_PASSWORD": "sentinel-new-pw", "APP_USER": "alice", "APP_FQDN": "a.example.org", "APP_PORT": "http"}
	k.write(fifth)
	wait("the invalid value is said", func() bool { return strings.Contains(logs.String(), "not valid; nothing is changed") })
	if got := file(filepath.Join(run, ParamsDirName, "APP_URL")); got != "http://b" {
		t.Errorf("APP_URL changed although the set was refused or invalid: %q", got)
	}
	select {
	case u := <-started:
		t.Errorf("%s started for a refused or invalid change", u)
	default:
	}
	if strings.Contains(logs.String(), "sentinel-") {
		t.Errorf("a secret value is in the log:\n%s", logs.String())
	}
}

// Without a secrets directory the task idles until stopped.
func TestFollowNoDirectory(t *testing.T) {
	root := t.TempDir()
	cfgFile := filepath.Join(root, "appagent.yaml")
	os.WriteFile(cfgFile, []byte("volume: {path: "+root+"}\n"), 0o644)
	environ := filepath.Join(root, "environ")
	os.WriteFile(environ, nil, 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done, err := (&Task{ConfigPath: cfgFile, RuntimeDir: filepath.Join(root, "run"), SecretsDir: filepath.Join(root, "none"), EnvironFile: environ}).Start(ctx, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the task did not stop")
	}
}
