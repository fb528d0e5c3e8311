package params

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

func testSet() *Set {
	return &Set{Values: []Value{
		{Name: "WIKI_NAME", Value: "My \"Wiki\"\n$HOME", Source: FromEnv},
		{Name: "WIKI_PORT", Value: "8080", Source: FromDefault},
		{Name: "WIKI_PASSWORD", Value: "s3cret-value", Source: FromSecret, Secret: true},
		{Name: "WIKI_TOKEN", Secret: true, Source: Unset},
		{Name: "WIKI_OPTIONAL", Source: Unset},
	}}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestWriteRuntime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "appagent")
	if err := WriteRuntime(dir, testSet()); err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(EnvFilePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseEnvFile(string(env))
	if err != nil {
		t.Fatal(err)
	}
	if parsed["WIKI_NAME"] != "My \"Wiki\"\n$HOME" || parsed["WIKI_PORT"] != "8080" || len(parsed) != 2 {
		t.Errorf("env file parses to %q", parsed)
	}
	for _, f := range []string{"params.env", "params-status.json"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(data), "s3cret") {
			t.Errorf("%s holds the secret:\n%s", f, data)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "params", "WIKI_PORT")); string(got) != "8080" {
		t.Errorf("params/WIKI_PORT = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "params", "WIKI_PASSWORD")); err == nil {
		t.Errorf("a secret has a file in params/")
	}
	if _, err := os.Stat(filepath.Join(dir, "params", "WIKI_OPTIONAL")); err == nil {
		t.Errorf("an unset parameter has a file")
	}
	if got, _ := os.ReadFile(CredentialPath(dir, "WIKI_PASSWORD")); string(got) != "s3cret-value" {
		t.Errorf("credential = %q", got)
	}
	if got, err := os.ReadFile(CredentialPath(dir, "WIKI_TOKEN")); err != nil || len(got) != 0 {
		t.Errorf("unset secret: %q, %v; want an empty file (LoadCredential= needs it)", got, err)
	}
	if m := mode(t, filepath.Join(dir, "credentials")); m != 0o700 {
		t.Errorf("credentials dir mode %v", m)
	}
	if m := mode(t, CredentialPath(dir, "WIKI_PASSWORD")); m != 0o600 {
		t.Errorf("credential mode %v", m)
	}
	if m := mode(t, filepath.Join(dir, "params", "WIKI_NAME")); m != 0o644 {
		t.Errorf("param file mode %v", m)
	}
	var st []Status
	data, _ := os.ReadFile(filepath.Join(dir, StatusFileName))
	if err := json.Unmarshal(data, &st); err != nil || len(st) != 5 {
		t.Fatalf("status %s: %v", data, err)
	}
	if st[2] != (Status{Name: "WIKI_PASSWORD", Source: FromSecret, Set: true, Secret: true}) {
		t.Errorf("status of the secret: %+v", st[2])
	}

	// A second write with fewer values removes the stale files.
	set := testSet()
	set.Values = set.Values[2:3]
	os.Chmod(filepath.Join(dir, "credentials"), 0o755)
	if err := WriteRuntime(dir, set); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "params", "WIKI_NAME")); err == nil {
		t.Errorf("stale params/WIKI_NAME kept")
	}
	if _, err := os.Stat(CredentialPath(dir, "WIKI_TOKEN")); err == nil {
		t.Errorf("stale credential kept")
	}
	if m := mode(t, filepath.Join(dir, "credentials")); m != 0o700 {
		t.Errorf("credentials dir mode %v after rewrite", m)
	}
}

func TestStoreAndLoad(t *testing.T) {
	vol := t.TempDir()
	s, err := LoadStored(vol)
	if err != nil || len(s.Values) != 0 {
		t.Fatalf("empty volume: %+v, %v", s, err)
	}
	if err := Store(vol, testSet()); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, StoredPath(vol)); m != 0o600 {
		t.Errorf("params.json mode %v", m)
	}
	s, err = LoadStored(vol)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Values) != 2 || s.Values["WIKI_NAME"].Value != "My \"Wiki\"\n$HOME" || s.Values["WIKI_PASSWORD"].Source != FromSecret {
		t.Errorf("stored %+v; want only the given values", s.Values)
	}
	// Values of parameters the set does not hold are kept.
	if err := Store(vol, &Set{Values: []Value{{Name: "OTHER", Value: "x", Source: FromEnv}}}); err != nil {
		t.Fatal(err)
	}
	s, _ = LoadStored(vol)
	if len(s.Values) != 3 {
		t.Errorf("stored %+v", s.Values)
	}
	os.WriteFile(StoredPath(vol), []byte("{broken"), 0o600)
	if _, err := LoadStored(vol); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("broken file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(vol, StateDir))
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestMarkReconfigure(t *testing.T) {
	vol := t.TempDir()
	p := filepath.Join(vol, StampsDir, ReconfigurePending)
	if err := MarkReconfigure(vol, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("written without changes")
	}
	MarkReconfigure(vol, []string{"B"})
	MarkReconfigure(vol, []string{"A", "B"})
	data, _ := os.ReadFile(p)
	m, _ := ParseEnvFile(string(data))
	if m["APPAGENT_CHANGED"] != "A B" {
		t.Errorf("APPAGENT_CHANGED = %q", m["APPAGENT_CHANGED"])
	}
}

// FuzzWriteRuntime: any secret value (binary included) comes back byte for byte from its
// credential file, and any value Check accepts comes back from params.env and params/NAME;
// no secret byte string appears in the env or status files.
func FuzzWriteRuntime(f *testing.F) {
	f.Add("plain", "s3cret")
	f.Add("a\nb \"q\" $x `c` \\", "\x00\xff\n")
	f.Add("", "")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, plain, secret string) {
		if _, err := Check(config.Parameter{Name: "P"}, plain); err != nil {
			plain = "x"
		}
		set := &Set{Values: []Value{
			{Name: "P", Value: plain, Source: FromEnv},
			{Name: "S", Value: secret, Source: FromSecret, Secret: true},
		}}
		if err := WriteRuntime(dir, set); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(CredentialPath(dir, "S")); string(got) != secret {
			t.Fatalf("credential %q came back as %q", secret, got)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, ParamsDirName, "P")); string(got) != plain {
			t.Fatalf("params/P %q came back as %q", plain, got)
		}
		env, _ := os.ReadFile(EnvFilePath(dir))
		m, err := ParseEnvFile(string(env))
		if err != nil || m["P"] != plain || len(m) != 1 {
			t.Fatalf("params.env %q parses to %q, %v", env, m, err)
		}
		// The env and status files do not depend on the secret's value at all.
		status, _ := os.ReadFile(filepath.Join(dir, StatusFileName))
		set.Values[1].Value = "other"
		if err := WriteRuntime(dir, set); err != nil {
			t.Fatal(err)
		}
		env2, _ := os.ReadFile(EnvFilePath(dir))
		status2, _ := os.ReadFile(filepath.Join(dir, StatusFileName))
		if string(env) != string(env2) || string(status) != string(status2) {
			t.Fatalf("params.env or the status file changes with the secret's value")
		}
	})
}

// TestLoadStoredDamagedNamesNoValue: params.json holds secrets, and the error about a damaged
// file goes to the container's stdout (init) and the journal (agent). encoding/json's syntax
// errors quote the offending byte, which can be a byte of a secret: the message must say
// where the file is broken, never what it holds.
func TestLoadStoredDamagedNamesNoValue(t *testing.T) {
	for _, tt := range []struct{ name, content string }{
		{"bad byte after a value", `{"format":1,"values":{"PW":{"value":"s3cr"Xt"}}}`},
		{"cut off", `{"format":1,"values":{"PW":{"value":"s3cr`},
		{"wrong type", `{"format":1,"values":{"PW":{"value":["s3cr","Xt"]}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			os.MkdirAll(filepath.Join(vol, StateDir), 0o700)
			os.WriteFile(StoredPath(vol), []byte(tt.content), 0o600)
			_, err := LoadStored(vol)
			if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), StoredPath(vol)) {
				t.Fatalf("err = %v; want a damaged-file error naming the file", err)
			}
			for _, leak := range []string{"X", "s3cr", "Xt"} {
				if strings.Contains(strings.ReplaceAll(err.Error(), StoredPath(vol), ""), leak) {
					t.Errorf("error %q shows %q of the file's content", err, leak)
				}
			}
		})
	}
}
