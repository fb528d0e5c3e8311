package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/appagent/appagent/agent/layout"
	"go.yaml.in/yaml/v3"
)

// Defaults, shared by every package that acts on the config.
const (
	DefaultVolume     = "/data"
	DefaultTemplate   = layout.DefaultTemplate
	DefaultMigrations = "/usr/libexec/appagent/migrations"
	DefaultInit       = "/sbin/init"
)

// Stdin is the path that makes Load read the declaration from standard input (`appagent kube
// --config -`, fed from an image with `podman run --entrypoint cat`).
const Stdin = "-"

// Load reads and validates the declaration at path ("" is DefaultPath, Stdin standard
// input; its problems then name "<stdin>"). On invalid input it
// returns a *ReportError listing every problem, and no Config.
func Load(path string) (*Config, error) {
	if path == "" {
		path = DefaultPath
	}
	var (
		data []byte
		err  error
	)
	if path == Stdin {
		path = "<stdin>"
		data, err = readLimited(path, os.Stdin)
	} else {
		data, err = readBounded(path)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w (an image declares itself in %s; see docs/config.md)", err, DefaultPath)
	}
	c, rep := Parse(path, data)
	if err := rep.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Loaded is cfg when a caller loaded it already (the agent loads the declaration once and
// hands it to each of its tasks), else Load(path).
func Loaded(cfg *Config, path string) (*Config, error) {
	if cfg != nil {
		return cfg, nil
	}
	return Load(path)
}

// Parse decodes and validates data read from file. The report holds every problem, errors and
// warnings; the Config is only meaningful when the report has no errors.
func Parse(file string, data []byte) (*Config, Report) {
	var rep Report
	c := &Config{File: file}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		rep.Add(yamlProblem(file, err))
		return c, rep
	}
	// A second document (after ---) would be ignored without a word: refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		rep.Add(Problem{File: file, Line: extra.Line, Severity: Error,
			Message: "a second YAML document starts here; the declaration is one document: remove the --- line and merge the two (or delete the second)"})
		return c, rep
	} else if !errors.Is(err, io.EOF) {
		rep.Add(yamlProblem(file, err))
		return c, rep
	}
	if len(root.Content) == 0 {
		rep.Add(Problem{File: file, Line: 1, Severity: Error, Message: "the file is empty; it needs at least a volume: section (see docs/config.md)"})
		return c, rep
	}
	checkKeys(file, &root, reflect.TypeOf(Config{}), "", &rep)
	// checkKeys already said, in YAML terms, what yaml.v3's decoder says again about a wrong
	// kind or a repeated key on the same line; one problem is reported once.
	reported := map[int]bool{}
	for _, p := range rep.Problems {
		reported[p.Line] = true
	}
	decodeErr := root.Decode(c)
	if decodeErr != nil {
		var te *yaml.TypeError
		if errors.As(decodeErr, &te) {
			for _, m := range te.Errors {
				if p := yamlProblem(file, errors.New(m)); p.Line == 0 || !reported[p.Line] {
					rep.Add(p)
				}
			}
		} else {
			rep.Add(yamlProblem(file, decodeErr))
		}
	}
	c.File = file
	// The column only tells apart entries on one line (a flow list); on their own lines the
	// line says it all.
	perLine := map[int]int{}
	for _, p := range c.Volume.Paths {
		perLine[p.Line]++
	}
	for i := range c.Volume.Paths {
		c.Volume.Paths[i].File = file
		if perLine[c.Volume.Paths[i].Line] < 2 {
			c.Volume.Paths[i].Column = 0
		}
	}
	if n := keyNode(&root, "volume.paths_file"); n != nil {
		c.Volume.PathsFileLine = n.Line
	}
	// Unknown keys leave the decoded values intact, so their values are still validated and
	// every problem shows at once; after a decode error the values are partial and would only
	// add false problems.
	if decodeErr != nil {
		return c, rep
	}
	c.applyDefaults()
	n := len(rep.Problems)
	c.validate(&rep)
	// validate works on the decoded values, which carry no position; find the key's line.
	for i := n; i < len(rep.Problems); i++ {
		if p := &rep.Problems[i]; p.Line == 0 && p.Key != "" && p.File == file {
			if v := keyNode(&root, p.Key); v != nil {
				p.Line, p.Column = v.Line, v.Column
			}
		}
	}
	return c, rep
}

// keyNode finds the value of a dotted key such as volume.path or diff.ignore[2] in the YAML
// tree, or nil when the file does not set it (the problem is then in a default).
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, part := range strings.Split(key, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			k, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return nil
			}
			name, idx = part[:i], k
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == name {
				next = n.Content[j+1]
			}
		}
		if next == nil {
			return nil
		}
		if idx >= 0 {
			if next.Kind != yaml.SequenceNode || idx >= len(next.Content) {
				return nil
			}
			next = next.Content[idx]
		}
		n = next
	}
	return n
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// yamlProblem turns a yaml.v3 message ("yaml: line 3: ...") into a located problem.
func yamlProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: file, Severity: Error}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = strings.Replace(msg, m[0], "", 1)
	}
	msg = strings.ReplaceAll(msg, "!!str", "text")
	msg = strings.ReplaceAll(msg, "!!int", "a number")
	msg = strings.ReplaceAll(msg, "!!seq", "a list")
	msg = strings.ReplaceAll(msg, "!!map", "a mapping")
	if strings.Contains(msg, "tab character") {
		msg += " (YAML indents with spaces only; replace the tabs at or just after this line)"
	}
	p.Message = msg
	return p
}

func (c *Config) applyDefaults() {
	if c.Version == 0 {
		c.Version = 1
	}
	if c.Volume.Path == "" {
		c.Volume.Path = DefaultVolume
	}
	if c.Volume.Template == "" {
		c.Volume.Template = DefaultTemplate
	}
	if c.Volume.Format == 0 {
		c.Volume.Format = 1
	}
	if c.Volume.Migrations == "" {
		c.Volume.Migrations = DefaultMigrations
	}
	if c.Container.Init == "" {
		c.Container.Init = DefaultInit
	}
	if c.Logs.Format == "" {
		c.Logs.Format = "short"
	}
	if c.Logs.Priority == "" {
		c.Logs.Priority = "info"
	}
	for i := range c.Parameters {
		if c.Parameters[i].Type == "" {
			c.Parameters[i].Type = "string"
		}
		if c.Parameters[i].OnChange == "" {
			c.Parameters[i].OnChange = "ignore"
		}
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = "TCP"
		}
	}
	c.checkDefaults()
}

// LoadPathsFile reads a plain volume list: one absolute path a line, blank lines and # comments
// ignored, a trailing " optional" marks an optional path. Problems are added to rep.
func LoadPathsFile(file string, data []byte, rep *Report) []VolumePath {
	var out []VolumePath
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		vp := VolumePath{File: file, Line: line}
		fields := strings.Fields(text)
		switch {
		case len(fields) == 1:
			vp.Path = fields[0]
		case len(fields) == 2 && fields[1] == "optional":
			vp.Path, vp.Optional = fields[0], true
		default:
			rep.Add(Problem{File: file, Line: line, Severity: Error,
				Message: fmt.Sprintf("%q: expected one path a line, optionally followed by the word optional (paths with spaces belong in appagent.yaml's volume.paths)", text)})
			continue
		}
		out = append(out, vp)
	}
	if err := sc.Err(); err != nil {
		rep.Add(Problem{File: file, Line: line + 1, Severity: Error, Message: err.Error()})
	}
	return out
}

// VolumePaths returns the declared paths with those of volume.paths_file appended, reading
// the file relative to root (an image root during tests, "/" in a real image).
//
// The list is read, merged and validated once per root: later calls (prepare checks it, then
// moves it) get the same entries and report. Each entry carries its own problems.
func (c *Config) VolumePaths(root string) ([]VolumePath, Report) {
	if c.volumeList == nil || c.volumeList.root != root {
		paths, rep := c.readVolumePaths(root)
		c.volumeList = &volumeList{root: root, paths: paths, rep: rep}
	}
	out := make([]VolumePath, len(c.volumeList.paths))
	for i, p := range c.volumeList.paths {
		p.Problems = slices.Clip(p.Problems) // a caller's append must not reach the cache
		out[i] = p
	}
	return out, c.volumeList.rep.clone()
}

// volumeList is VolumePaths' result for one root.
type volumeList struct {
	root  string
	paths []VolumePath
	rep   Report
}

func (c *Config) readVolumePaths(root string) ([]VolumePath, Report) {
	var rep Report
	paths := make([]VolumePath, len(c.Volume.Paths))
	for i, p := range c.Volume.Paths {
		p.Problems = nil
		paths[i] = p
	}
	if c.Volume.PathsFile != "" {
		data, err := readBounded(strings.TrimSuffix(root, "/") + c.Volume.PathsFile)
		if err != nil {
			rep.Add(Problem{File: c.File, Line: c.Volume.PathsFileLine, Key: "volume.paths_file", Severity: Error,
				Message: fmt.Sprintf("cannot read the volume list: %v (add the file to the image before `appagent prepare`, or remove paths_file)", err)})
		} else {
			paths = append(paths, LoadPathsFile(c.Volume.PathsFile, data, &rep)...)
		}
	}
	ValidateVolumePaths(c.Volume, paths, &rep)
	return paths, rep
}

// MaxFileSize bounds the declaration (and a volume list): they are settings of a few
// kilobytes, and a file of gigabytes must not be read into memory.
const MaxFileSize = 4 << 20

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(path, f)
}

func readLimited(path string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; a declaration is a few kilobytes of settings", path, MaxFileSize>>20)
	}
	return data, nil
}
