package config

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// ParamTypes are the value types a parameter may declare.
var ParamTypes = []string{"string", "int", "bool", "port", "hostname", "fqdn", "email", "url"}

// OnChangePolicies are the values of a parameter's on_change.
var OnChangePolicies = []string{"ignore", "reconfigure", "refuse"}

// TemporaryPaths are never kept on the volume: the runtime or systemd owns them.
var TemporaryPaths = []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp"}

var (
	paramName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	capName   = regexp.MustCompile(`^[A-Z][A-Z_]*[A-Z]$`)
	unitName  = regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|target|path|mount)$`)
)

func (c *Config) validate(r *Report) {
	errf := func(line int, key, format string, a ...any) {
		r.Add(Problem{File: c.File, Line: line, Key: key, Severity: Error, Message: fmt.Sprintf(format, a...)})
	}
	warnf := func(line int, key, format string, a ...any) {
		r.Add(Problem{File: c.File, Line: line, Key: key, Severity: Warning, Message: fmt.Sprintf(format, a...)})
	}
	if c.Version != 1 {
		errf(0, "version", "%d is not known to this appagent (it knows 1); write version: 1 or use a newer appagent", c.Version)
	}
	for _, k := range []struct{ key, val string }{
		{"volume.path", c.Volume.Path}, {"volume.template", c.Volume.Template},
		{"volume.migrations", c.Volume.Migrations}, {"container.init", c.Container.Init},
	} {
		if hasControl(k.val) {
			errf(0, k.key, "%q contains control characters", k.val)
			continue
		}
		if !path.IsAbs(k.val) || path.Clean(k.val) != k.val {
			errf(0, k.key, "%q must be an absolute, clean path (like %q)", k.val, path.Clean("/"+k.val))
		}
	}
	if c.Volume.Path == "/" {
		errf(0, "volume.path", "the volume cannot be mounted on /")
	}
	if c.Volume.PathsFile != "" && !path.IsAbs(c.Volume.PathsFile) {
		errf(0, "volume.paths_file", "%q must be an absolute path", c.Volume.PathsFile)
	}
	if c.Volume.Format < 1 {
		errf(0, "volume.format", "the format version must be 1 or more, not %d", c.Volume.Format)
	}
	if k := c.Volume.KeepBackups; k != nil && *k < 0 {
		errf(0, "volume.keep_backups", "%d is not a number of backups; write 0 to keep all, or how many of the newest to keep (default %d)", *k, DefaultKeepBackups)
	}
	switch c.Volume.Downgrade {
	case "", DowngradeRefuse, DowngradeAllow:
	default:
		errf(0, "volume.downgrade", "%q is not a downgrade policy; write %s (the default) or %s", c.Volume.Downgrade, DowngradeRefuse, DowngradeAllow)
	}

	// Parameters: declarations only. Value checks (defaults included) live in agent/params.
	seen := map[string]int{}
	var names []string
	for i, p := range c.Parameters {
		key := fmt.Sprintf("parameters[%d]", i)
		if p.Name == "" {
			errf(p.Line, key, "a parameter needs a name")
			continue
		}
		key = fmt.Sprintf("parameters[%d] (%s)", i, p.Name)
		names = append(names, p.Name)
		if !paramName.MatchString(p.Name) {
			errf(p.Line, key, "name %q must be upper case letters, digits and _ (it is also the environment variable)", p.Name)
		}
		if strings.HasSuffix(p.Name, "_FILE") {
			errf(p.Line, key, "name %q ends in _FILE, which is reserved for NAME_FILE sources", p.Name)
		}
		if first, dup := seen[p.Name]; dup {
			errf(p.Line, key, "parameter %q is declared twice (first at line %d)", p.Name, first)
		}
		seen[p.Name] = p.Line
		if !contains(ParamTypes, p.Type) {
			errf(p.Line, key+".type", "unknown type %q; one of: %s", p.Type, strings.Join(ParamTypes, ", "))
		}
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err != nil {
				errf(p.Line, key+".pattern", "invalid regular expression: %v", err)
			}
		}
		if (p.Min != nil || p.Max != nil) && p.Type != "int" {
			errf(p.Line, key, "min/max apply to type int only")
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			errf(p.Line, key, "min %d is greater than max %d", *p.Min, *p.Max)
		}
		if !contains(OnChangePolicies, p.OnChange) {
			errf(p.Line, key+".on_change", "unknown policy %q; one of: %s", p.OnChange, strings.Join(OnChangePolicies, ", "))
		}
		if p.OnChange == "reconfigure" && c.Hooks.Reconfigure == nil {
			errf(p.Line, key+".on_change", "on_change: reconfigure needs a hooks.reconfigure command")
		}
		if p.Units != nil && !p.Secret {
			errf(p.Line, key+".units", "units applies to secrets only (other parameters are in the environment file every unit reads)")
		}
		for _, u := range p.Units {
			if !declaredUnit(c.Units, u) {
				errf(p.Line, key+".units", "%q is not one of the units: list", u)
			}
		}
		if p.Required && p.Default != nil {
			warnf(p.Line, key, "required with a default: the default is never used")
		}
		if p.Description == "" {
			warnf(p.Line, key, "no description; `appagent init --help-params` and errors show it to users")
		}
	}
	if c.Identity != "" {
		if _, ok := seen[c.Identity]; !ok {
			msg := fmt.Sprintf("names parameter %q, which is not declared", c.Identity)
			if s := Suggest(c.Identity, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			errf(0, "identity", "%s", msg)
		}
	}

	useen := map[string]bool{}
	for i, u := range c.Units {
		key := fmt.Sprintf("units[%d]", i)
		if !unitName.MatchString(u.Name) {
			errf(u.Line, key, "%q is not a unit name (like mariadb.service or backup.timer)", u.Name)
		}
		if useen[u.Name] {
			errf(u.Line, key, "unit %q is listed twice", u.Name)
		}
		useen[u.Name] = true
		if u.ExitCode != 0 && !u.Essential {
			errf(u.Line, key, "exit_code is only used by essential units; add essential: true")
		}
		if u.ExitCode < 0 || u.ExitCode > 255 {
			errf(u.Line, key, "exit_code %d is outside 0-255", u.ExitCode)
		}
	}
	c.validateReplication(errf, seen, names)
	for name, h := range map[string]*Hook{"configure": c.Hooks.Configure, "upgrade": c.Hooks.Upgrade, "reconfigure": c.Hooks.Reconfigure, "join": c.Hooks.Join, "check": c.Hooks.Check} {
		if h == nil {
			continue
		}
		if strings.TrimSpace(h.Command) == "" {
			errf(h.Line, "hooks."+name, "needs a command")
		} else if hasControl(h.Command) {
			// The command becomes an ExecStart= line: a newline would start another setting.
			errf(h.Line, "hooks."+name, "the command must be one line without control characters (a YAML | block adds newlines); put a longer script in a file and name that file")
		} else if f := strings.Fields(h.Command)[0]; !path.IsAbs(strings.TrimLeft(f, "-@:+!")) {
			errf(h.Line, "hooks."+name, "command %q must start with an absolute path (systemd runs it without a shell)", f)
		}
		if h.ExitCode < 0 || h.ExitCode > 255 {
			errf(h.Line, "hooks."+name, "exit_code %d is outside 0-255", h.ExitCode)
		}
		for i, w := range h.Writes {
			key := fmt.Sprintf("hooks.%s.writes[%d]", name, i)
			switch {
			case !path.IsAbs(w) || hasControl(w):
				errf(h.Line, key, "%q must be an absolute path without control characters", w)
			case path.Clean(w) == "/":
				errf(h.Line, key, "\"/\" would let the hook write anywhere; name the directories it writes, or set confine: false")
			case path.Clean(w) != w:
				errf(h.Line, key, "%q is not clean; write %q", w, path.Clean(w))
			}
		}
		if prefix, _ := h.ExecPrefix(); h.Confined() && name != "check" && strings.Contains(prefix, "@") {
			errf(h.Line, "hooks."+name, "the @ prefix (a separate argv[0]) cannot be run confined; drop it, or set confine: false")
		}
		if len(h.Writes) > 0 && !h.Confined() {
			errf(h.Line, "hooks."+name+".writes", "an unconfined hook (confine: false) may write anywhere; drop writes or confine")
		}
	}
	if _, err := ParseLogFormat(c.Logs.Format); err != nil {
		errf(0, "logs.format", "%v", err)
	}
	if _, err := ParseLogPriority(c.Logs.Priority); err != nil {
		errf(0, "logs.priority", "%v", err)
	}
	for i, m := range append(append([]string{}, c.Container.Mask...), c.Container.Unmask...) {
		if !unitName.MatchString(m) {
			errf(0, "container.mask/unmask", "entry %d: %q is not a unit name", i, m)
		}
	}
	if c.Container.DefaultTarget != "" && !strings.HasSuffix(c.Container.DefaultTarget, ".target") {
		errf(0, "container.default_target", "%q is not a target (it must end in .target)", c.Container.DefaultTarget)
	}
	for i, cp := range c.Container.Capabilities {
		if !capName.MatchString(cp) || strings.HasPrefix(cp, "CAP_") {
			errf(0, "container.capabilities", "entry %d: %q is not a capability name (like NET_ADMIN, without CAP_)", i, cp)
		}
	}
	c.validatePorts(errf)
	c.validateChecks(errf)
	for i, p := range c.Diff.Ignore {
		if !path.IsAbs(p) {
			errf(0, fmt.Sprintf("diff.ignore[%d]", i), "%q must be an absolute path", p)
		}
	}
	// The volume list (volume.paths with paths_file) is validated once, merged, by
	// VolumePaths: prepare and the volume steps read it there.
}

// ValidateVolumePaths checks the list of paths kept on the volume and reports every problem.
//
// The nesting rule: a path inside another listed path is an error, because the parent is
// moved to the volume whole and the child is already kept with it; listing both is a mistake
// that would otherwise make one of them a dangling symlink.
func ValidateVolumePaths(v Volume, paths []VolumePath, r *Report) {
	byIndex := func(i int, sev Severity, format string, a ...any) {
		paths[i].Problem(r, sev, format, a...)
	}
	ok := make([]int, 0, len(paths))
	first := map[string]VolumePath{}
	for i, p := range paths {
		at := func(_ VolumePath, sev Severity, format string, a ...any) { byIndex(i, sev, format, a...) }
		switch {
		case p.Path == "":
			at(p, Error, "empty path")
			continue
		case !path.IsAbs(p.Path):
			at(p, Error, "not an absolute path; write %q", "/"+p.Path)
			continue
		case path.Clean(p.Path) != p.Path:
			at(p, Error, "not a clean path; write %q", path.Clean(p.Path))
			continue
		case hasControl(p.Path):
			at(p, Error, "contains control characters (a newline or tab in a path is almost always a mistake, and systemd and the plain list cannot carry it)")
			continue
		case p.Path == "/":
			at(p, Error, "the root directory cannot be kept on the volume")
			continue
		}
		if under(p.Path, v.Path) || under(v.Path, p.Path) {
			at(p, Error, "is the volume %s itself or overlaps it", v.Path)
			continue
		}
		if under(p.Path, v.Template) || under(v.Template, p.Path) {
			at(p, Error, "overlaps the template tree %s", v.Template)
			continue
		}
		bad := false
		for _, t := range TemporaryPaths {
			if under(p.Path, t) {
				at(p, Error, "is under %s, which the runtime or systemd recreates at every start; it cannot be kept", t)
				bad = true
				break
			}
		}
		if bad {
			continue
		}
		if f, dup := first[p.Path]; dup {
			at(p, Error, "listed twice (first at %s)", f.Where())
			continue
		}
		first[p.Path] = p
		ok = append(ok, i)
	}
	sort.Slice(ok, func(a, b int) bool { return paths[ok[a]].Path < paths[ok[b]].Path })
	for a := range ok {
		outer := paths[ok[a]]
		for b := a + 1; b < len(ok) && strings.HasPrefix(paths[ok[b]].Path, outer.Path); b++ {
			if under(paths[ok[b]].Path, outer.Path) {
				byIndex(ok[b], Error, "is inside %q (%s), which is kept whole; remove the inner path", outer.Path, outer.Where())
			}
		}
	}
}

// Where is the entry's location for messages: file:line, with the column on a flow list.
func (v VolumePath) Where() string {
	if v.Column > 0 {
		return fmt.Sprintf("%s:%d:%d", v.File, v.Line, v.Column)
	}
	return fmt.Sprintf("%s:%d", v.File, v.Line)
}

// Problem records a problem of this entry, on the entry and in r.
func (v *VolumePath) Problem(r *Report, sev Severity, format string, a ...any) {
	p := Problem{File: v.File, Line: v.Line, Column: v.Column, Key: "volume.paths", Severity: sev,
		Message: fmt.Sprintf("%q: ", v.Path) + fmt.Sprintf(format, a...)}
	v.Problems = append(v.Problems, p)
	r.Add(p)
}

func declaredUnit(units []Unit, name string) bool {
	for _, u := range units {
		if u.Name == name {
			return true
		}
	}
	return false
}

// hasControl reports whether s holds an ASCII control character (newline, tab, escape, ...).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
