package params

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

func strp(s string) *string { return &s }

func testConfig() *config.Config {
	return &config.Config{Volume: config.Volume{Path: "/data"}, Parameters: []config.Parameter{
		{Name: "WIKI_NAME", Description: "the wiki's title", Required: true, Type: "string", OnChange: "ignore"},
		{Name: "WIKI_PORT", Type: "port", Default: strp("8080"), OnChange: "reconfigure"},
		{Name: "WIKI_ADMIN_PASSWORD", Secret: true, Required: true, Type: "string", OnChange: "ignore"},
		{Name: "WIKI_DEBUG", Type: "bool", Default: strp("no"), OnChange: "ignore"},
		{Name: "WIKI_DB", Type: "string", OnChange: "refuse"},
		{Name: "WIKI_OPTIONAL", Type: "string", OnChange: "ignore"},
	}}
}

func values(set *Set) map[string]Value {
	m := map[string]Value{}
	for _, v := range set.Values {
		m[v.Name] = v
	}
	return m
}

func TestResolveSources(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	os.MkdirAll(secrets, 0o755)
	os.WriteFile(filepath.Join(secrets, "WIKI_ADMIN_PASSWORD"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "name"), []byte("From File\n"), 0o644)
	os.WriteFile(filepath.Join(secrets, "WIKI_NAME"), []byte("from secret"), 0o644)

	set, err := Resolve(testConfig(), Inputs{
		Env:        []string{"WIKI_NAME_FILE=" + filepath.Join(dir, "name"), "WIKI_DEBUG=on", "PATH=/bin"},
		SecretsDir: secrets,
		Stored:     &Stored{Values: map[string]StoredValue{"WIKI_DB": {Value: "mysql", Source: FromEnv}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := values(set)
	want := map[string]Value{
		"WIKI_NAME":           {Name: "WIKI_NAME", Value: "From File", Source: FromEnvFile},
		"WIKI_PORT":           {Name: "WIKI_PORT", Value: "8080", Source: FromDefault},
		"WIKI_ADMIN_PASSWORD": {Name: "WIKI_ADMIN_PASSWORD", Value: "s3cret", Source: FromSecret, Secret: true},
		"WIKI_DEBUG":          {Name: "WIKI_DEBUG", Value: "true", Source: FromEnv},
		"WIKI_DB":             {Name: "WIKI_DB", Value: "mysql", Source: FromStored},
		"WIKI_OPTIONAL":       {Name: "WIKI_OPTIONAL", Source: Unset},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %+v, want %+v", name, got[name], w)
		}
	}
	if len(set.Values) != len(testConfig().Parameters) {
		t.Errorf("got %d values, want one per declared parameter", len(set.Values))
	}
}

// An empty value clears an optional parameter without a default, whatever its type; a
// required one, or one with a default, is still checked.
func TestResolveEmptyClears(t *testing.T) {
	cfg := &config.Config{Parameters: []config.Parameter{
		{Name: "X_HOST", Type: "hostname", OnChange: "reconfigure"},
		{Name: "X_PORT", Type: "port", Default: strp("25"), OnChange: "ignore"},
		{Name: "X_FQDN", Type: "fqdn", Required: true, OnChange: "ignore"},
	}}
	stored := &Stored{Values: map[string]StoredValue{"X_HOST": {Value: "relay", Source: FromEnv}}}
	_, err := Resolve(cfg, Inputs{Env: []string{"X_HOST=", "X_PORT=", "X_FQDN="}, Stored: stored})
	if err == nil || !strings.Contains(err.Error(), "X_PORT") || !strings.Contains(err.Error(), "X_FQDN") || strings.Contains(err.Error(), "X_HOST") {
		t.Fatalf("want errors for X_PORT and X_FQDN only, got %v", err)
	}
	set, err := Resolve(cfg, Inputs{Env: []string{"X_HOST=", "X_FQDN=a.example.org"}, Stored: stored})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := set.Get("X_HOST"); v.Value != "" || v.Source != FromEnv {
		t.Errorf("X_HOST = %+v, want cleared by env", v)
	}
	if len(set.Changed) != 1 || set.Changed[0] != "X_HOST" {
		t.Errorf("clearing a reconfigure parameter is a change: %v", set.Changed)
	}
}

func TestResolveEnvBeatsFileAndSecret(t *testing.T) {
	secrets := t.TempDir()
	os.WriteFile(filepath.Join(secrets, "WIKI_NAME"), []byte("secret file"), 0o644)
	set, err := Resolve(testConfig(), Inputs{
		Env:        []string{"WIKI_NAME=env", "WIKI_ADMIN_PASSWORD=pw"},
		SecretsDir: secrets,
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := values(set)["WIKI_NAME"]; v.Value != "env" || v.Source != FromEnv {
		t.Errorf("WIKI_NAME = %+v, want env", v)
	}
}

// Every problem in one report, with the exit code for parameters.
func TestResolveReportsEverything(t *testing.T) {
	_, err := Resolve(testConfig(), Inputs{Env: []string{
		"WIKI_PORT=http",                     // wrong type
		"WIKI_NAEM=typo",                     // typo of WIKI_NAME (which is missing)
		"WIKI_DEBUG=1", "WIKI_DEBUG_FILE=/x", // both
		"WIKI_ADMIN_PASSWORD=topsecret",
		"WIKI_UNRELATED=1", // prefix, not close: warning only
	}})
	if err == nil {
		t.Fatal("no error")
	}
	if exitcode.Of(err) != exitcode.Params {
		t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.Params)
	}
	msg := err.Error()
	for _, want := range []string{
		"WIKI_NAME: WIKI_NAME (the wiki's title) is required and not set; set it with -e WIKI_NAME=VALUE",
		`WIKI_PORT: WIKI_PORT (set by environment variable WIKI_PORT): "http" is not a port number (1-65535) [type port]`,
		"WIKI_NAEM: environment variable WIKI_NAEM is not a parameter of this image; did you mean WIKI_NAME?",
		"both WIKI_DEBUG and WIKI_DEBUG_FILE are set",
		"4 problems found",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "topsecret") {
		t.Errorf("error shows a secret:\n%s", msg)
	}
	var re *config.ReportError
	if !errors.As(err, &re) {
		t.Errorf("error is not a report: %T", err)
	}
}

func TestResolveSecretNeverInMessages(t *testing.T) {
	cfg := testConfig()
	cfg.Parameters[2].Pattern = "[0-9]+"
	stored := &Stored{Values: map[string]StoredValue{"WIKI_ADMIN_PASSWORD": {Value: "old-secret-123"}}}
	_, err := Resolve(cfg, Inputs{Env: []string{"WIKI_NAME=x", "WIKI_ADMIN_PASSWORD=new-secret-abc"}, Stored: stored})
	if err == nil || strings.Contains(err.Error(), "new-secret-abc") || strings.Contains(err.Error(), "old-secret-123") {
		t.Fatalf("want an error without the secret, got %v", err)
	}
	cfg.Parameters[2].Pattern = ""
	set, err := Resolve(cfg, Inputs{Env: []string{"WIKI_NAME=x", "WIKI_ADMIN_PASSWORD=new-secret-abc"}, Stored: stored})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range set.Warnings {
		if strings.Contains(w.String(), "secret-") {
			t.Errorf("warning shows a secret: %s", w)
		}
	}
}

func TestResolveOnChange(t *testing.T) {
	stored := &Stored{Values: map[string]StoredValue{
		"WIKI_NAME":           {Value: "Old", Source: FromEnv},
		"WIKI_PORT":           {Value: "8080", Source: FromEnv},
		"WIKI_ADMIN_PASSWORD": {Value: "pw", Source: FromEnv},
		"WIKI_DB":             {Value: "mysql", Source: FromEnv},
	}}
	t.Run("ignore keeps stored and warns", func(t *testing.T) {
		set, err := Resolve(testConfig(), Inputs{Env: []string{"WIKI_NAME=New"}, Stored: stored})
		if err != nil {
			t.Fatal(err)
		}
		if v := values(set)["WIKI_NAME"]; v.Value != "Old" || v.Source != FromStored {
			t.Errorf("WIKI_NAME = %+v, want the stored Old", v)
		}
		if len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0].String(), "WIKI_NAME") || !strings.Contains(set.Warnings[0].String(), "on_change: ignore") {
			t.Errorf("warnings = %v", set.Warnings)
		}
	})
	t.Run("same value is no change", func(t *testing.T) {
		set, err := Resolve(testConfig(), Inputs{Env: []string{"WIKI_NAME=Old", "WIKI_PORT=8080", "WIKI_DB=mysql"}, Stored: stored})
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Warnings) != 0 || len(set.Changed) != 0 {
			t.Errorf("warnings %v changed %v, want none", set.Warnings, set.Changed)
		}
	})
	t.Run("reconfigure takes new value", func(t *testing.T) {
		set, err := Resolve(testConfig(), Inputs{Env: []string{"WIKI_PORT=9090"}, Stored: stored})
		if err != nil {
			t.Fatal(err)
		}
		if v := values(set)["WIKI_PORT"]; v.Value != "9090" || v.Source != FromEnv {
			t.Errorf("WIKI_PORT = %+v", v)
		}
		if strings.Join(set.Changed, ",") != "WIKI_PORT" {
			t.Errorf("Changed = %v", set.Changed)
		}
	})
	t.Run("refuse exits with its own code", func(t *testing.T) {
		_, err := Resolve(testConfig(), Inputs{Env: []string{"WIKI_DB=postgres"}, Stored: stored})
		if exitcode.Of(err) != exitcode.ParamChanged || !strings.Contains(err.Error(), "WIKI_DB") {
			t.Fatalf("err = %v (code %d)", err, exitcode.Of(err))
		}
	})
	t.Run("refuse plus another problem is a params error", func(t *testing.T) {
		_, err := Resolve(testConfig(), Inputs{Env: []string{"WIKI_DB=postgres", "WIKI_PORT=x"}, Stored: stored})
		if exitcode.Of(err) != exitcode.Params {
			t.Fatalf("code %d, want %d", exitcode.Of(err), exitcode.Params)
		}
	})
}

func TestResolveUnknownNames(t *testing.T) {
	secrets := t.TempDir()
	os.WriteFile(filepath.Join(secrets, "wiki_admin_password"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(secrets, "other-app-secret"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(secrets, "..data"), 0o755)
	_, err := Resolve(testConfig(), Inputs{SecretsDir: secrets, Env: []string{
		"WIKI_NAME=x",
		"HOME=/root", "TERM=xterm", "container=podman", "APPAGENT_LOG_LEVEL=debug",
		"WIKI_SERVICE_HOST=10.0.0.1", "WIKI_PORT_80_TCP_ADDR=10.0.0.1", // Kubernetes service variables
		"WIKI_PROT=80", // typo of WIKI_PORT
	}})
	msg := err.Error()
	for _, want := range []string{
		"did you mean WIKI_PORT?",
		"secret file " + filepath.Join(secrets, "wiki_admin_password") + " is not a parameter of this image; did you mean WIKI_ADMIN_PASSWORD?",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("lacks %q:\n%s", want, msg)
		}
	}
	for _, not := range []string{"HOME", "TERM", "container", "APPAGENT", "SERVICE_HOST", "80_TCP", "other-app-secret", "..data"} {
		if strings.Contains(msg, not) {
			t.Errorf("reports %q:\n%s", not, msg)
		}
	}
}

func TestPrefix(t *testing.T) {
	for _, tt := range []struct {
		names []string
		want  string
	}{
		{[]string{"WIKI_NAME", "WIKI_PORT"}, "WIKI_"},
		{[]string{"WIKI_NAME"}, "WIKI_"},
		{[]string{"WIKI_NAME", "DB_HOST"}, ""},
		{[]string{"PASSWORD"}, ""},
		{nil, ""},
	} {
		cfg := &config.Config{}
		for _, n := range tt.names {
			cfg.Parameters = append(cfg.Parameters, config.Parameter{Name: n})
		}
		if got := Prefix(cfg); got != tt.want {
			t.Errorf("Prefix(%v) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

func TestReadValueFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ content, want string }{
		{"plain", "plain"}, {"nl\n", "nl"}, {"crlf\r\n", "crlf"}, {"two\n\n", "two\n"}, {"", ""},
	} {
		p := filepath.Join(dir, "f")
		os.WriteFile(p, []byte(tt.content), 0o600)
		got, err := readValueFile(p)
		if err != nil || got != tt.want {
			t.Errorf("readValueFile(%q) = %q, %v; want %q", tt.content, got, err, tt.want)
		}
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600)
	if _, err := readValueFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	if _, err := readValueFile(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestUnsetSecretEnv(t *testing.T) {
	t.Setenv("WIKI_ADMIN_PASSWORD", "pw")
	t.Setenv("WIKI_NAME", "name")
	UnsetSecretEnv(testConfig())
	if _, ok := os.LookupEnv("WIKI_ADMIN_PASSWORD"); ok {
		t.Error("the secret is still in the environment")
	}
	if os.Getenv("WIKI_NAME") != "name" {
		t.Error("a non-secret was removed")
	}
}

// TestResolveSecretFileNameNotShown: NAME_FILE=VALUE instead of NAME=VALUE is an easy
// mistake, and then the "path" is the secret. The error about a relative NAME_FILE of a
// secret must not quote it; for other parameters quoting it helps.
func TestResolveSecretFileNameNotShown(t *testing.T) {
	for _, tt := range []struct {
		env      string
		hidden   bool
		mustSay  string
		mustHide string
	}{
		{"WIKI_ADMIN_PASSWORD_FILE=hunter2-secret", true, "WIKI_ADMIN_PASSWORD_FILE", "hunter2-secret"},
		{"WIKI_DB_FILE=relative/db", false, `"relative/db"`, ""},
	} {
		_, err := Resolve(testConfig(), Inputs{Env: []string{"WIKI_NAME=x", "WIKI_ADMIN_PASSWORD=pw", tt.env}})
		if tt.hidden {
			_, err = Resolve(testConfig(), Inputs{Env: []string{"WIKI_NAME=x", tt.env}})
		}
		if err == nil || !strings.Contains(err.Error(), tt.mustSay) || !strings.Contains(err.Error(), "absolute path") {
			t.Errorf("%s: err = %v; want it to name %s and ask for an absolute path", tt.env, err, tt.mustSay)
			continue
		}
		if tt.mustHide != "" && strings.Contains(err.Error(), tt.mustHide) {
			t.Errorf("%s: the error shows the secret: %v", tt.env, err)
		}
	}
}
