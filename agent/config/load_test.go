package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	src := `
version: 1
volume:
  path: /data
  format: 2
  paths:
    - /etc/mysql
    - {path: /var/lib/mysql, optional: true}
parameters:
  - name: WIKI_NAME
    description: the wiki's name
    required: true
  - name: ADMIN_PASSWORD
    description: admin password
    secret: true
    required: true
    units: []
  - name: HTTP_PORT
    description: port
    type: port
    default: "80"
identity: SERVER_FQDN
units:
  - apache2.service
  - {name: mariadb.service, essential: true, exit_code: 30}
hooks:
  configure: /usr/libexec/wiki/configure --first
  upgrade: {command: /usr/libexec/wiki/upgrade, exit_code: 40, timeout: 10m}
logs: {format: json, priority: notice}
`
	src = strings.Replace(src, "identity: SERVER_FQDN", "identity: WIKI_NAME", 1)
	c, rep := Parse("appagent.yaml", []byte(src))
	if rep.HasErrors() {
		t.Fatalf("unexpected problems:\n%s", rep)
	}
	if got := c.Volume.Paths[1]; got.Path != "/var/lib/mysql" || !got.Optional || got.Line != 8 {
		t.Errorf("paths[1] = %+v", got)
	}
	if c.Volume.Template != DefaultTemplate || c.Container.Init != DefaultInit || c.Volume.Format != 2 {
		t.Errorf("defaults not applied: %+v", c.Volume)
	}
	if got := c.Volume.Backups(); got != DefaultKeepBackups {
		t.Errorf("volume.keep_backups unset: Backups() = %d, want the default %d", got, DefaultKeepBackups)
	}
	for src, want := range map[string]int{"volume: {keep_backups: 0}\n": 0, "volume: {keep_backups: 5}\n": 5} {
		c, rep := Parse("appagent.yaml", []byte(src))
		if rep.HasErrors() {
			t.Fatalf("%q: unexpected problems:\n%s", src, rep)
		}
		if got := c.Volume.Backups(); got != want {
			t.Errorf("%q: Backups() = %d, want %d", src, got, want)
		}
	}
	if c.Parameters[0].Type != "string" || c.Parameters[0].OnChange != "ignore" {
		t.Errorf("parameter defaults not applied: %+v", c.Parameters[0])
	}
	if c.Parameters[1].Units == nil || len(c.Parameters[1].Units) != 0 {
		t.Errorf("units: [] must decode to an empty, non-nil list (hooks only), got %#v", c.Parameters[1].Units)
	}
	if c.Parameters[0].Units != nil {
		t.Errorf("no units: key must stay nil (every unit), got %#v", c.Parameters[0].Units)
	}
	if u := c.Units[1]; !u.Essential || u.ExitCode != 30 {
		t.Errorf("units[1] = %+v", u)
	}
	if h := c.Hooks.Upgrade; h.Command != "/usr/libexec/wiki/upgrade" || h.Timeout.Minutes() != 10 || h.ExitCode != 40 {
		t.Errorf("upgrade hook = %+v", h)
	}
	if c.Hooks.Configure.Command != "/usr/libexec/wiki/configure --first" {
		t.Errorf("configure hook = %+v", c.Hooks.Configure)
	}
}

// Every invalid input must be reported with its line, and all problems at once.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, each must appear in the report
	}{
		{"unknown key with suggestion", "volume:\n  pahts: [/etc/x]\n", []string{`appagent.yaml:2:3: error: volume: unknown key "pahts"; did you mean "paths"?`}},
		{"unknown top key lists known", "volumes: {}\n", []string{`unknown key "volumes"; did you mean "volume"?`}},
		{"two unknown keys both reported", "volume:\n  pth: /data\n  formatt: 2\n", []string{`:2:3:`, `:3:3:`}},
		{"wrong type", "volume:\n  format: two\n", []string{`appagent.yaml:2:11: error: volume.format: expected a whole number, found "two"`}},
		{"list expected", "volume:\n  paths: /etc\n", []string{`volume.paths: expected a list`}},
		{"syntax error", "volume: [\n", []string{`appagent.yaml:`, `error:`}},
		{"empty file", "", []string{`the file is empty`}},
		{"relative volume path", "volume:\n  paths: [etc/x]\n", []string{`:2:`, `not an absolute path; write "/etc/x"`}},
		{"unclean", "volume:\n  paths: [/etc/x/]\n", []string{`not a clean path; write "/etc/x"`}},
		{"under run", "volume:\n  paths: [/run/x, /tmp]\n", []string{`"/run/x": is under /run`, `"/tmp": is under /tmp`}},
		{"volume itself", "volume:\n  paths: [/data/x]\n", []string{`is the volume /data itself`}},
		{"duplicate", "volume:\n  paths:\n    - /etc/x\n    - /etc/x\n", []string{`:4:`, `listed twice (first at appagent.yaml:3)`}},
		{"nested", "volume:\n  paths:\n    - /etc/x\n    - /etc/x/y\n", []string{`:4:`, `is inside "/etc/x"`}},
		{"sibling prefix is not nested", "volume:\n  paths:\n    - /etc/x\n    - /etc/xy\n    - /etc/x/z\n", []string{`"/etc/x/z": is inside`}},
		{"bad param", "parameters:\n  - name: wiki-name\n    type: colour\n    on_change: explode\n", []string{`:2:`, `must be upper case`, `unknown type "colour"`, `unknown policy "explode"`}},
		{"dup param", "parameters:\n  - {name: A, description: a}\n  - {name: A, description: a}\n", []string{`declared twice (first at line 2)`}},
		{"bad pattern", "parameters:\n  - {name: A, description: a, pattern: '('}\n", []string{`invalid regular expression`}},
		{"min>max", "parameters:\n  - {name: A, description: a, type: int, min: 5, max: 1}\n", []string{`min 5 is greater than max 1`}},
		{"reconfigure without hook", "parameters:\n  - {name: A, description: a, on_change: reconfigure}\n", []string{`needs a hooks.reconfigure command`}},
		{"identity typo", "parameters:\n  - {name: SERVER_FQDN, description: a}\nidentity: SERVER_FDQN\n", []string{`did you mean "SERVER_FQDN"?`}},
		{"join without replication", "hooks:\n  join: /bin/join\n", []string{`:2:`, `hooks.join: a join hook needs replication:`}},
		{"replication names", "parameters:\n  - {name: DB_ROLE, description: a, one_of: [primary, master], default: boss}\n  - {name: DB_PRIMARY, description: a, secret: true}\nreplication:\n  role: DB_ROLE\n  primary: DB_PRIMRY\n",
			[]string{`replication.role: parameter DB_ROLE allows "master", which is not a role; a role is one of: primary, replica, ordinal`, `defaults to "boss"`,
				`:5:`, `replication.primary: names parameter "DB_PRIMRY", which is not declared; did you mean "DB_PRIMARY"?`}},
		{"replication secret and missing", "parameters:\n  - {name: DB_PRIMARY, description: a, secret: true}\nreplication:\n  primary: DB_PRIMARY\n",
			[]string{`replication.role: names no parameter`, `:2:`, `replication.primary: parameter DB_PRIMARY is secret`}},
		{"units on a non-secret", "parameters:\n  - {name: A, description: a, units: [x.service]}\nunits: [x.service]\n", []string{`units applies to secrets only`}},
		{"secret for an undeclared unit", "parameters:\n  - {name: A, description: a, secret: true, units: [y.service]}\nunits: [x.service]\n", []string{`"y.service" is not one of the units: list`}},
		{"bad unit", "units: [apache2, {name: x.service, exit_code: 3}]\n", []string{`"apache2" is not a unit name`, `add essential: true`}},
		{"multi-line hook", "hooks:\n  configure: |\n    /bin/setup\n    /bin/more\n", []string{`must be one line`}},
		{"control character in a volume path", "volume:\n  paths: [\"/etc/a\\tb\"]\n", []string{`contains control characters`}},
		{"control character in volume.path", "volume:\n  path: \"/da\\nta\"\n", []string{`volume.path`, `contains control characters`}},
		{"relative hook", "hooks:\n  configure: configure.sh\n", []string{`must start with an absolute path`}},
		{"bad duration", "hooks:\n  upgrade: {command: /x, timeout: soon}\n", []string{`"soon" is not a duration`}},
		{"relative hook write", "hooks:\n  configure: {command: /x, writes: [etc/app]}\n", []string{`:2:`, `hooks.configure.writes[0]: "etc/app" must be an absolute path`}},
		{"hook writes everywhere", "hooks:\n  configure: {command: /x, writes: [/etc, //]}\n", []string{`hooks.configure.writes[1]: "/" would let the hook write anywhere`, `confine: false`}},
		{"unclean hook write", "hooks:\n  upgrade: {command: /x, writes: [/etc/app/]}\n", []string{`"/etc/app/" is not clean; write "/etc/app"`}},
		{"writes of an unconfined hook", "hooks:\n  reconfigure: {command: /x, confine: false, writes: [/etc]}\n", []string{`hooks.reconfigure.writes: an unconfined hook (confine: false) may write anywhere`}},
		{"confined hook with its own argv[0]", "hooks:\n  configure: \"@/bin/x x\"\n", []string{`hooks.configure: the @ prefix`}},
		{"bad log format", "logs: {format: xml, priority: loud}\n", []string{`log format "xml" is not known; use short or json`, `log priority "loud" is not known`}},
		{"bad default target", "container: {default_target: multi-user}\n", []string{`is not a target`}},
		{"bad ports", "ports:\n  - {name: HTTP, port: 0}\n  - {name: ssh, port: 22, protocol: tcp}\n  - {name: web, port: 53, protocol: UDP, http: true}\n  - {port: 22}\n  - {name: a-very-long-port-name, port: 22}\n",
			[]string{`:2:`, `ports[0] (HTTP).name: "HTTP" must be at most 15 lower case`, `ports[0] (HTTP).port: 0 is not a port number`,
				`ports[1] (ssh).protocol: unknown protocol "tcp"; one of: TCP, UDP, SCTP`, `ports[2] (web).http: an HTTP port is TCP, not UDP`,
				`:5:`, `ports[3]: a port needs a name`, `port 22/TCP is declared twice (first at line 5)`, `"a-very-long-port-name" must be at most 15`}},
		{"duplicate port name", "ports:\n  - {name: ssh, port: 22}\n  - {name: ssh, port: 2222}\n", []string{`:3:`, `port name "ssh" is used twice (first at line 2)`}},
		{"second document", "version: 1\n---\nvolume: {path: /x}\n", []string{`appagent.yaml:2: error: a second YAML document starts here`}},
		{"bad checks", "units: [a.service]\nchecks:\n  - {name: Web, http: 'ftp://x', status: [99]}\n  - {name: two, command: /bin/true, tcp: 'x:1'}\n  - {name: db, tcp: nohost, unit: b.service, interval: 500ms, timeout: 2s, on_fail: panic}\n  - {command: /bin/true}\n",
			[]string{`:3:`, `checks[0] (Web).name: "Web" must be lower case`, `checks[0] (Web).http: "ftp://x" is not an http://`, `99 is not an HTTP status code`,
				`checks[1] (two): a check has exactly one of command, http and tcp (it has 2)`, `checks[2] (db).tcp: "nohost" is not host:port`,
				`checks[2] (db).unit: "b.service" is not one of the units`, `checks[2] (db).timeout: the timeout 2s is longer than the interval 500ms`,
				`checks[2] (db).interval: 500ms is too short`, `unknown policy "panic"; one of: degraded, failed`, `checks[3]: a check needs a name`}},
		{"bad capability", "container: {capabilities: [CAP_NET_ADMIN, net_raw]}\n", []string{`entry 0: "CAP_NET_ADMIN" is not a capability name (like NET_ADMIN, without CAP_)`, `entry 1: "net_raw" is not a capability name`}},
		{"duplicate key", "volume:\n  path: /a\n  path: /b\n", []string{`error`}},
		{"unknown key does not hide the other problems", "volume:\n  pathz: []\n  paths: [etc/x]\nunits: [apache2]\n",
			[]string{`unknown key "pathz"`, `not an absolute path; write "/etc/x"`, `"apache2" is not a unit name`}},
		{"negative keep_backups", "volume:\n  keep_backups: -1\n", []string{`volume.keep_backups: -1 is not a number of backups; write 0 to keep all`}},
		{"values located at their line", "version: 7\nvolume:\n  path: data\nlogs:\n  format: xml\ndiff:\n  ignore: [/a, b]\n",
			[]string{`appagent.yaml:1:10: error: version: 7 is not known`, `appagent.yaml:3:9: error: volume.path: "data" must be an absolute`,
				`appagent.yaml:5:11: error: logs.format: log format "xml" is not known`, `appagent.yaml:7:16: error: diff.ignore[1]: "b" must be an absolute path`}},
		{"whole numbers", "version: \"1\"\nvolume:\n  format: 1.5\nunits: [{name: a.service, essential: true, exit_code: abc}]\n",
			[]string{`:1:10: error: version: expected a whole number, found "1" (write it without quotes)`, `:3:11: error: volume.format: expected a whole number, found "1.5"`,
				`:4:55: error: units[0].exit_code: expected a whole number, found "abc"`}},
		{"true or false", "volume: {require_mount: maybe}\nunits: [{name: a.service, essential: yes}]\n",
			[]string{`:1:25: error: volume.require_mount: expected true or false, found "maybe"`}},
		{"empty list entry", "volume:\n  paths:\n    -\n    - /etc/x\nunits: [~]\n",
			[]string{`:3:6: error: volume.paths[0]: empty list entry`, `:5:9: error: units[0]: empty list entry`}},
		{"tab says how to fix", "volume:\n  path: /data\n\tpaths: [/x]\n", []string{`indents with spaces only`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// What prepare reports: the declaration's problems and its volume list's.
			c, rep := Parse("appagent.yaml", []byte(tc.src))
			if c != nil {
				_, lrep := c.VolumePaths(t.TempDir())
				rep.Merge(lrep)
			}
			if !rep.HasErrors() {
				t.Fatalf("no error reported for:\n%s", tc.src)
			}
			out := rep.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q; report:\n%s", w, out)
				}
			}
		})
	}
}

// A problem is reported once: the key checker and yaml.v3's decoder must not both describe it.
func TestParseReportsEachProblemOnce(t *testing.T) {
	for _, src := range []string{
		"volume:\n  paths: /var/lib/x\n",
		"- a\n- b\n",
		"volume: {path: /data}\nvolume: {path: /data2}\n",
	} {
		_, rep := Parse("appagent.yaml", []byte(src))
		if len(rep.Problems) != 1 {
			t.Errorf("%q: %d problems, want 1:\n%s", src, len(rep.Problems), rep)
		}
	}
}

// What yaml.v3 decodes correctly stays accepted: YAML 1.1 booleans, hex numbers, null.
func TestParseScalarsAccepted(t *testing.T) {
	src := "version: 1\nvolume: {require_mount: yes, format: 0x2, keep_backups: ~}\nunits: [{name: a.service, essential: on, exit_code: 40}]\n"
	c, rep := Parse("appagent.yaml", []byte(src))
	if rep.HasErrors() {
		t.Fatalf("problems:\n%s", rep)
	}
	if !c.Volume.RequireMount || c.Volume.Format != 2 || !c.Units[0].Essential {
		t.Errorf("decoded %+v %+v", c.Volume, c.Units)
	}
}

func TestParseWarnings(t *testing.T) {
	_, rep := Parse("a.yaml", []byte("parameters:\n  - {name: A, required: true, default: x}\n"))
	if rep.HasErrors() {
		t.Fatalf("unexpected errors: %s", rep)
	}
	w := rep.Warnings()
	if len(w) != 2 {
		t.Fatalf("want 2 warnings (default never used, no description), got %v", w)
	}
}

func TestLoadPathsFile(t *testing.T) {
	var rep Report
	got := LoadPathsFile("volume-data-list", []byte("# comment\n/etc/httpd/conf\n\n  /var/log/httpd  # logs\n/opt/x optional\n/a b c\n"), &rep)
	if len(got) != 3 {
		t.Fatalf("got %d paths: %+v", len(got), got)
	}
	if got[1].Path != "/var/log/httpd" || got[1].Line != 4 || !got[2].Optional {
		t.Errorf("got %+v", got)
	}
	if !strings.Contains(rep.String(), "volume-data-list:6: error") {
		t.Errorf("want a located error for line 6, got %s", rep)
	}
}

// Entries of a one-line flow list share a line: each carries its own problems, located by
// column, and one bad entry hides no other entry's problem (issue 14's reproductions; the
// image check is agent/upgrade's TestCheckPathsFlowList).
func TestVolumePathsFlowList(t *testing.T) {
	c, rep := Parse("a.yaml", []byte("volume:\n  paths: [/etc/app, etc/x, /run/y, /etc/app/sub]\n"))
	if rep.HasErrors() {
		t.Fatal(rep)
	}
	paths, lrep := c.VolumePaths(t.TempDir())
	out := lrep.String()
	for _, w := range []string{`a.yaml:2:21: error: volume.paths: "etc/x": not an absolute path`, `a.yaml:2:28: error: volume.paths: "/run/y": is under /run`,
		`a.yaml:2:36: error: volume.paths: "/etc/app/sub": is inside "/etc/app" (a.yaml:2:11)`} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
	var faulted []bool
	for _, p := range paths {
		faulted = append(faulted, p.Faulted())
	}
	if !slices.Equal(faulted, []bool{false, true, true, true}) {
		t.Errorf("faulted entries %v, want only the three bad ones", faulted)
	}
	// Read once: a second call gives the same, and does not share what callers add.
	again, rep2 := c.VolumePaths(t.TempDir())
	paths[0].Problem(&rep2, Error, "added by a caller")
	if len(again[0].Problems) != 0 || len(rep2.Problems) != len(lrep.Problems)+1 {
		t.Errorf("the cached list changed: %v", again[0].Problems)
	}
	if third, _ := c.VolumePaths(t.TempDir()); len(third[0].Problems) != 0 {
		t.Errorf("a caller's problem reached the cache: %v", third[0].Problems)
	}
}

func TestReportErrorMessage(t *testing.T) {
	c, rep := Parse("f.yaml", []byte("volume:\n  paths: [x, /run/y]\n"))
	_, lrep := c.VolumePaths(t.TempDir())
	rep.Merge(lrep)
	err := rep.Err()
	if err == nil || !strings.HasPrefix(err.Error(), "2 problems found:\n") {
		t.Fatalf("err = %v", err)
	}
	var re *ReportError
	if !errors.As(err, &re) || len(re.Report.Problems) != 2 {
		t.Fatalf("not a report of 2 problems: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"WIKI_NAME", "ADMIN_PASSWORD", "SMTP_HOST"}
	for in, want := range map[string]string{
		"WIKI_NAEM": "WIKI_NAME", "wiki_name": "WIKI_NAME", "ADMIN_PASWORD": "ADMIN_PASSWORD",
		"HOME": "", "WIKI_NAME": "", "PAHTS": "",
	} {
		if got := Suggest(in, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: the declaration is written by image authors, but a parser must never panic and
// must either accept or explain.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"volume:\n  paths: [/etc/x, {path: /var/x, optional: true}]\n",
		"parameters:\n  - {name: A, type: int, min: 1, max: 2}\n",
		"hooks: {configure: /x, upgrade: {command: /y, timeout: 1m}}\n",
		"units: [a.service, {name: b.service, essential: true}]\n",
		"&a [*a]", "volume: !!binary aGVsbG8=", "- - - -",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, rep := Parse("fuzz.yaml", data)
		if c == nil {
			t.Fatal("nil config")
		}
		for _, p := range rep.Problems {
			if p.Message == "" {
				t.Fatalf("problem without message: %+v", p)
			}
		}
	})
}

func FuzzLoadPathsFile(f *testing.F) {
	f.Add([]byte("/etc/x\n# c\n/opt/y optional\n"))
	f.Add([]byte("\x00\n/\n..\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rep Report
		paths := LoadPathsFile("list", data, &rep)
		ValidateVolumePaths(Volume{Path: DefaultVolume, Template: DefaultTemplate}, paths, &rep)
		for _, p := range paths {
			if p.Line < 1 {
				t.Fatalf("path without line: %+v", p)
			}
		}
	})
}

// A paths_file that cannot be read is reported at the line that names it, with the fix.
func TestVolumePathsFileMissing(t *testing.T) {
	c, rep := Parse("appagent.yaml", []byte("version: 1\nvolume:\n  paths_file: /etc/appagent/list\n"))
	if rep.HasErrors() {
		t.Fatal(rep)
	}
	_, rep = c.VolumePaths(t.TempDir())
	if out := rep.String(); !strings.Contains(out, "appagent.yaml:3: error: volume.paths_file: cannot read the volume list") ||
		!strings.Contains(out, "add the file to the image") {
		t.Errorf("report:\n%s", out)
	}
}

// A value of megabytes is not echoed whole in the message, and a declaration of more than
// MaxFileSize is not read.
func TestHugeInputBounded(t *testing.T) {
	big := strings.Repeat("x", 5<<20)
	_, rep := Parse("appagent.yaml", []byte("volume:\n  format: "+big+"\n"))
	if len(rep.Problems) == 0 {
		t.Fatal("want a problem")
	}
	for _, p := range rep.Problems {
		if len(p.Message) > maxMessage+40 || !strings.Contains(p.Message, "more bytes)") {
			t.Errorf("message of %d bytes: %.120s", len(p.Message), p.Message)
		}
	}
	f := filepath.Join(t.TempDir(), "appagent.yaml")
	os.WriteFile(f, []byte("# "+big+"\n"), 0o644)
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("Load of a 5 MiB file: %v", err)
	}
}

// The declaration takes the spellings the APPAGENT_LOG_* overrides take (one grammar).
func TestLogSettingsOneGrammar(t *testing.T) {
	for _, src := range []string{"logs: {format: JSON, priority: warn}\n", "logs: {format: ' short ', priority: '3'}\n", "logs: {priority: ERROR}\n"} {
		if _, rep := Parse("a.yaml", []byte("version: 1\n"+src)); rep.HasErrors() {
			t.Errorf("%q: %s", src, rep)
		}
	}
	for in, want := range map[string]int{"": 6, "debug": 7, "warn": 4, "warning": 4, "0": 0, " Err ": 3} {
		if got, err := ParseLogPriority(in); err != nil || got != want {
			t.Errorf("ParseLogPriority(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseLogPriority("8"); err == nil {
		t.Errorf("priority 8 accepted")
	}
}
