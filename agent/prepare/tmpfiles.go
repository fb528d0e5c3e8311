package prepare

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/appagent/appagent/internal/atomicfile"
)

// A volume path is a symlink to the volume once prepare has run. A distribution's
// tmpfiles.d rule for it (Debian's `d /root/.ssh 0700`, PostgreSQL's `d /var/log/postgresql`)
// then meets the symlink: systemd-tmpfiles says "already exists and is not a directory" at
// every boot and the rule's mode and owner never apply to the data. The rule's intent is the
// data's, so prepare moves it there: it writes an override of the rule's file into
// /etc/tmpfiles.d (which shadows /usr/lib/tmpfiles.d by name, tmpfiles.d(5)) whose rules for
// volume paths name the path on the volume. Rules that would remove or truncate data at every
// boot (D, r, R, F) are not moved onto the volume but commented out: through the symlink they
// would delete the link itself or the user's data.

// tmpfilesDirs are read in order of precedence, as tmpfiles.d(5) says (/run is empty at
// build time); a name in an earlier directory shadows the same name in a later one.
var tmpfilesDirs = []string{"/etc/tmpfiles.d", "/usr/local/lib/tmpfiles.d", "/usr/lib/tmpfiles.d"}

// overrideHeader marks a file prepare wrote, so that running prepare again leaves it alone.
const overrideHeader = "# Written by appagent prepare: "

// destructive rule types: they remove or truncate at every boot (systemd-tmpfiles-setup
// runs with --create --remove --boot).
var destructive = map[byte]bool{'D': true, 'r': true, 'R': true, 'F': true}

// TmpfilesChange is one rule prepare moved or disabled.
type TmpfilesChange struct {
	File     string // the rule's file in the image, e.g. /usr/lib/tmpfiles.d/provision.conf
	Line     int
	Path     string // the rule's path (a volume path or under one)
	Override string // the file written, /etc/tmpfiles.d/NAME
	Disabled bool   // commented out (destructive), not moved
	Type     string
}

func (c TmpfilesChange) String() string {
	if c.Disabled {
		return fmt.Sprintf("warning: %s:%d: the tmpfiles.d rule %q for %s, a path kept on the volume, would remove or truncate its data at every boot; it is commented out in %s",
			c.File, c.Line, c.Type, c.Path, c.Override)
	}
	return fmt.Sprintf("warning: %s:%d: the tmpfiles.d rule for %s meets the symlink to the volume (\"already exists and is not a directory\" at every boot); %s applies it on the volume instead",
		c.File, c.Line, c.Path, c.Override)
}

// MoveTmpfilesRules rewrites the image's tmpfiles.d rules for volume paths (absolute image
// paths) onto the volume at volume, and returns what it changed.
func MoveTmpfilesRules(root, volume string, volumePaths []string) ([]TmpfilesChange, error) {
	effective := map[string]string{} // name -> path in the image
	for _, d := range tmpfilesDirs {
		matches, _ := filepath.Glob(filepath.Join(root, d, "*.conf"))
		for _, m := range matches {
			name := filepath.Base(m)
			if _, ok := effective[name]; !ok {
				effective[name] = path.Join(d, name)
			}
		}
	}
	names := make([]string, 0, len(effective))
	for n := range effective {
		names = append(names, n)
	}
	sort.Strings(names)
	var all []TmpfilesChange
	for _, name := range names {
		file := effective[name]
		full := filepath.Join(root, file)
		if fi, err := os.Stat(full); err != nil || !fi.Mode().IsRegular() {
			continue // masked (a link to /dev/null) or unreadable: systemd skips it too
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return all, fmt.Errorf("tmpfiles.d: %w", err)
		}
		if bytes.HasPrefix(data, []byte(overrideHeader)) {
			continue
		}
		override := path.Join("/etc/tmpfiles.d", name)
		out, changes := rewriteTmpfiles(data, file, override, volume, volumePaths)
		if len(changes) == 0 {
			continue
		}
		header := overrideHeader + "the rules of " + file + ", those for paths kept on the volume\n# moved onto it (" + volume + "). Remove this file to undo.\n"
		dst := filepath.Join(root, override)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return all, fmt.Errorf("tmpfiles.d: %w", err)
		}
		if err := atomicfile.Write(dst, append([]byte(header), out...), 0o644); err != nil {
			return all, fmt.Errorf("tmpfiles.d: writing %s: %w", override, err)
		}
		all = append(all, changes...)
	}
	return all, nil
}

// rewriteTmpfiles returns data with the rules for volume paths moved onto the volume (or
// commented out), every other byte as it was.
func rewriteTmpfiles(data []byte, file, override, volume string, volumePaths []string) ([]byte, []TmpfilesChange) {
	var out bytes.Buffer
	var changes []TmpfilesChange
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		typ, p, start, end, ok := tmpfilesRule(line)
		if !ok || !underAny(p, volumePaths) {
			out.WriteString(line)
			out.WriteByte('\n')
			continue
		}
		c := TmpfilesChange{File: file, Line: n, Path: p, Override: override, Type: typ}
		if destructive[typ[0]] { // the letter; modifiers (!, -, +, …) follow it
			c.Disabled = true
			fmt.Fprintf(&out, "# appagent: removes data on the volume at every boot, disabled: %s\n", line)
		} else {
			out.WriteString(line[:start] + path.Join(volume, p) + line[end:])
			out.WriteByte('\n')
		}
		changes = append(changes, c)
	}
	return out.Bytes(), changes
}

// tmpfilesRule finds a rule's type and literal path (and where the path is in the line);
// ok is false for comments, blank lines, quoted paths and paths with specifiers (%h, …),
// which cannot be resolved at build time.
func tmpfilesRule(line string) (typ, p string, start, end int, ok bool) {
	t := strings.TrimLeft(line, " \t")
	if t == "" || t[0] == '#' {
		return "", "", 0, 0, false
	}
	i := len(line) - len(t)
	j := i
	for j < len(line) && line[j] != ' ' && line[j] != '\t' {
		j++
	}
	typ = line[i:j]
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	start = j
	for j < len(line) && line[j] != ' ' && line[j] != '\t' {
		j++
	}
	p = line[start:j]
	if typ == "" || p == "" || p[0] != '/' || strings.ContainsAny(p, "%\"'\\*?[") {
		return "", "", 0, 0, false
	}
	return typ, path.Clean(p), start, j, true
}

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

// moveTmpfilesStep is prepare's step: it prints each change as a warning.
func moveTmpfilesStep(root, volume string, volumePaths []string, out io.Writer) error {
	changes, err := MoveTmpfilesRules(root, volume, volumePaths)
	for _, c := range changes {
		fmt.Fprintln(out, c.String())
	}
	return err
}
