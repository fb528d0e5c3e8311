package params

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// Source says where a parameter's value came from.
type Source string

const (
	FromEnv     Source = "env"      // the environment variable NAME
	FromEnvFile Source = "env-file" // the file named by NAME_FILE
	FromSecret  Source = "secret"   // the file <secrets dir>/NAME (/run/secrets/NAME)
	FromStored  Source = "stored"   // the volume, from an earlier start
	FromDefault Source = "default"  // the image's declared default
	Unset       Source = "unset"    // no value (optional parameter)
)

// given tells whether the value was given for this start (and is therefore stored).
func (s Source) given() bool { return s == FromEnv || s == FromEnvFile || s == FromSecret }

// Value is one resolved parameter.
type Value struct {
	Name   string
	Value  string
	Source Source
	Secret bool
}

// IsSet tells whether the parameter has a value (possibly empty).
func (v Value) IsSet() bool { return v.Source != Unset }

// Set is the result of Resolve: every declared parameter, in declaration order.
type Set struct {
	Values []Value
	// Changed lists parameters declared on_change: reconfigure whose given value differs from
	// the stored one; the reconfigure hook runs for them.
	Changed []string
	// Warnings are problems that do not stop the start (a changed value that is ignored, an
	// unknown variable with the image's prefix). They never hold a secret value.
	Warnings []config.Problem
}

// Get returns the named parameter.
func (s *Set) Get(name string) (Value, bool) {
	for _, v := range s.Values {
		if v.Name == name {
			return v, true
		}
	}
	return Value{}, false
}

// Inputs are the sources Resolve reads besides the declaration.
type Inputs struct {
	// Env is the container's environment (os.Environ() in init, /proc/1/environ in the agent).
	Env []string
	// SecretsDir holds one file per secret (podman/docker secrets, Kubernetes secret mounts);
	// "" skips it. Normally DefaultSecretsDir.
	SecretsDir string
	// Stored are the values kept on the volume at an earlier start (nil: none).
	Stored *Stored
}

// DefaultSecretsDir is where podman, docker and Kubernetes put secret files by convention.
const DefaultSecretsDir = "/run/secrets"

// MaxFileSize bounds a value read from a file; parameters are settings, not data.
const MaxFileSize = 1 << 20

// Resolve finds every declared parameter's value and checks it. It reads, never writes. On
// failure the error is a *config.ReportError listing every problem at once, carrying
// exitcode.Params (or exitcode.ParamChanged when the only problems are refused changes).
func Resolve(cfg *config.Config, in Inputs) (*Set, error) {
	env := envMap(in.Env)
	var rep config.Report
	refused := 0
	set := &Set{}
	errf := func(p config.Parameter, format string, a ...any) {
		rep.Add(config.Problem{Key: p.Name, Severity: config.Error, Message: fmt.Sprintf(format, a...)})
	}
	warnf := func(key, format string, a ...any) {
		set.Warnings = append(set.Warnings, config.Problem{Key: key, Severity: config.Warning, Message: fmt.Sprintf(format, a...)})
	}
	for _, p := range cfg.Parameters {
		v := Value{Name: p.Name, Secret: p.Secret, Source: Unset}
		given, src, where, err := givenValue(p.Name, p.Secret, env, in.SecretsDir)
		if err != nil {
			errf(p, "%v", err)
			set.Values = append(set.Values, v)
			continue
		}
		var stored *StoredValue
		if in.Stored != nil {
			if sv, ok := in.Stored.Values[p.Name]; ok {
				stored = &sv
			}
		}
		switch {
		case src != Unset && given == "" && !p.Required && p.Default == nil:
			// An empty value clears an optional parameter without a default (docs/parameters.md): it is not held
			// to the type, or `-e SMTP_HOST=` and an OpenShift Template's empty parameter
			// could never say "no relay".
			v.Value, v.Source = "", src
			if stored != nil && stored.Value != "" {
				switch p.OnChange {
				case "refuse":
					refused++
					errf(p, "%s was given empty (by %s), which clears the value stored on the volume at an earlier start, and this image refuses changes to it; start with the stored value, or with a new volume",
						describe(p), where)
				case "reconfigure":
					set.Changed = append(set.Changed, p.Name)
				default:
					warnf(p.Name, "%s was given empty (by %s); the value stored on the volume at an earlier start is kept (on_change: ignore)", describe(p), where)
					v.Value, v.Source = stored.Value, FromStored
				}
			}
		case src != Unset:
			checked, err := Check(p, given)
			if err != nil {
				errf(p, "%s (set by %s): %v%s", describe(p), where, err, hint(p))
				break
			}
			v.Value, v.Source = checked, src
			if stored == nil || stored.Value == checked {
				break
			}
			switch p.OnChange {
			case "refuse":
				refused++
				errf(p, "%s was given another value (by %s) than the one stored on the volume at an earlier start, and this image refuses changes to it; start with the stored value, or with a new volume",
					describe(p), where)
			case "reconfigure":
				set.Changed = append(set.Changed, p.Name)
			default: // ignore
				warnf(p.Name, "%s was given another value (by %s) than the one stored on the volume at an earlier start; the stored value is kept (on_change: ignore) and the new one is not used",
					describe(p), where)
				v.Value, v.Source = stored.Value, FromStored
			}
		case stored != nil:
			checked, err := Check(p, stored.Value)
			if err != nil {
				errf(p, "%s: the value stored on the volume at an earlier start %v; give a new value (env %s)", describe(p), err, p.Name)
				break
			}
			v.Value, v.Source = checked, FromStored
		case p.Default != nil:
			checked, err := Check(p, *p.Default)
			if err != nil {
				errf(p, "%s: the image's default %v; this is a bug in the image (appagent prepare reports it)", describe(p), err)
				break
			}
			v.Value, v.Source = checked, FromDefault
		case p.Required:
			errf(p, "%s is required and not set; set it with -e %s=VALUE, a file named by %s_FILE, or a secret file %s",
				describe(p), p.Name, p.Name, filepath.Join(orDefault(in.SecretsDir, DefaultSecretsDir), p.Name))
		}
		set.Values = append(set.Values, v)
	}
	unknownNames(cfg, env, in.SecretsDir, &rep, set)
	if err := rep.Err(); err != nil {
		code := exitcode.Params
		if refused > 0 && refused == len(rep.Problems) {
			code = exitcode.ParamChanged
		}
		return nil, exitcode.With(code, fmt.Errorf("parameters: %w\n(the image's parameters: podman run --rm IMAGE --help-params; docs/parameters.md)", err))
	}
	return set, nil
}

// describe names a parameter for messages: its name and, when declared, its description.
func describe(p config.Parameter) string {
	if p.Description != "" {
		return fmt.Sprintf("%s (%s)", p.Name, p.Description)
	}
	return p.Name
}

func hint(p config.Parameter) string {
	if p.Type == "" || p.Type == "string" {
		return ""
	}
	return fmt.Sprintf(" [type %s]", p.Type)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// givenValue returns the value given for this start: env NAME, else the file named by
// NAME_FILE, else <secretsDir>/NAME. where names the source for messages (never the value).
// For a secret, a relative NAME_FILE is not quoted: it is most likely the secret itself,
// given as NAME_FILE=VALUE by mistake.
func givenValue(name string, secret bool, env map[string]string, secretsDir string) (val string, src Source, where string, err error) {
	v, hasEnv := env[name]
	file, hasFile := env[name+"_FILE"]
	switch {
	case hasEnv && hasFile:
		return "", Unset, "", fmt.Errorf("both %s and %s_FILE are set; set only one of them", name, name)
	case hasEnv:
		return v, FromEnv, "environment variable " + name, nil
	case hasFile:
		where = fmt.Sprintf("the file %s named by %s_FILE", file, name)
		if !filepath.IsAbs(file) {
			if secret {
				return "", Unset, "", fmt.Errorf("%s_FILE must be an absolute path to a file holding the value (its value is not shown: the parameter is secret; to give the value itself, use %s=VALUE)", name, name)
			}
			return "", Unset, "", fmt.Errorf("%s_FILE=%q must be an absolute path", name, file)
		}
		v, err := readValueFile(file)
		if err != nil {
			return "", Unset, "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return v, FromEnvFile, where, nil
	}
	if secretsDir == "" {
		return "", Unset, "", nil
	}
	path := filepath.Join(secretsDir, name)
	v, err = readValueFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", Unset, "", nil
	case err != nil:
		return "", Unset, "", err
	}
	return v, FromSecret, "the secret file " + path, nil
}

// readValueFile reads a value from a file. One trailing newline is dropped: `echo secret >
// file` and editors add one, and a value ending in a newline is almost never meant.
func readValueFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a directory; a file with the value is expected", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return "", fmt.Errorf("%s is larger than %d bytes; parameters are settings, not data", path, MaxFileSize)
	}
	s := string(data)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return s, nil
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			m[k] = v // later entries win, like getenv on a duplicated environment
		}
	}
	return m
}

// ignoredEnv are variables that the runtime, systemd or appagent itself set; they are never
// taken for a mistyped parameter.
var ignoredEnv = regexp.MustCompile(`^(PATH|HOME|TERM|HOSTNAME|LANG|LANGUAGE|LC_[A-Z]+|USER|LOGNAME|SHELL|PWD|OLDPWD|SHLVL|TZ|container|container_[a-z_]+|NOTIFY_SOCKET|LISTEN_[A-Z]+|INVOCATION_ID|JOURNAL_STREAM|MANAGERPID|SYSTEMD_[A-Z_]+|APPAGENT_[A-Z0-9_]*|KUBERNETES_[A-Z0-9_]+|_)$`)

// kubernetesServiceEnv matches the variables Kubernetes injects for every service in the
// namespace (FOO_SERVICE_HOST, FOO_PORT_80_TCP_ADDR, ...): a service named like the image's
// prefix must not stop the container.
var kubernetesServiceEnv = regexp.MustCompile(`_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)$`)

// Prefix returns the image's parameter prefix: the first word (up to and including the first
// "_") when every declared parameter shares it, like WIKI_ for WIKI_NAME and WIKI_ADMIN.
func Prefix(cfg *config.Config) string {
	prefix := ""
	for i, p := range cfg.Parameters {
		word, _, ok := strings.Cut(p.Name, "_")
		if !ok {
			return ""
		}
		if i == 0 {
			prefix = word + "_"
		} else if prefix != word+"_" {
			return ""
		}
	}
	return prefix
}

// unknownNames reports variables and secret files that look like a parameter of this image
// but are not declared: a typo of a declared name is an error (the user meant it, and it
// would otherwise be silently ignored); another name with the image's prefix is a warning.
func unknownNames(cfg *config.Config, env map[string]string, secretsDir string, rep *config.Report, set *Set) {
	declared := map[string]bool{}
	var names []string
	for _, p := range cfg.Parameters {
		declared[p.Name] = true
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return
	}
	prefix := Prefix(cfg)
	check := func(name, shown string, isEnv bool) {
		base := strings.TrimSuffix(name, "_FILE")
		if declared[base] || ignoredEnv.MatchString(base) {
			return
		}
		if isEnv && kubernetesServiceEnv.MatchString(base) {
			return
		}
		s := ""
		if len(base) >= 4 {
			s = config.Suggest(base, names)
		}
		if s != "" {
			_, meantGiven := env[s]
			msg := fmt.Sprintf("%s is not a parameter of this image; did you mean %s?", shown, s)
			if meantGiven {
				set.Warnings = append(set.Warnings, config.Problem{Key: name, Severity: config.Warning, Message: msg + " (" + s + " is set too, so this one is ignored)"})
			} else {
				rep.Add(config.Problem{Key: name, Severity: config.Error, Message: msg})
			}
			return
		}
		if isEnv && prefix != "" && strings.HasPrefix(base, prefix) {
			set.Warnings = append(set.Warnings, config.Problem{Key: name, Severity: config.Warning,
				Message: fmt.Sprintf("%s has this image's prefix %s but is not one of its parameters (%s); it is ignored",
					shown, prefix, strings.Join(names, ", "))})
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check(k, "environment variable "+k, true)
	}
	if secretsDir == "" {
		return
	}
	entries, err := os.ReadDir(secretsDir)
	if err != nil {
		return // no secrets directory is the common case
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		check(e.Name(), "secret file "+filepath.Join(secretsDir, e.Name()), false)
	}
}
