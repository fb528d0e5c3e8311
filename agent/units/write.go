package units

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/appagent/appagent/agent/config"
)

// Write puts the generated files into the generator directories. Generator directories are
// fresh tmpfs directories at each boot (and at each daemon-reload), so plain writes suffice.
func Write(g Generated, normal, early string) error {
	for _, f := range g.Files {
		base := normal
		if f.Dir == Early {
			base = early
		}
		p := filepath.Join(base, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("generator: %w", err)
		}
		if f.Link != "" {
			_ = os.Remove(p)
			if err := os.Symlink(f.Link, p); err != nil {
				return fmt.Errorf("generator: %w", err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(f.Content), 0o644); err != nil {
			return fmt.Errorf("generator: %w", err)
		}
	}
	return nil
}

// GeneratorOptions configure RunGenerator.
type GeneratorOptions struct {
	Root   string // "/" at boot; a root directory in tests and at prepare time
	Config string // the declaration's path inside Root (default config.DefaultPath)
	Normal string // systemd's first argument
	Early  string // systemd's second argument
	Log    io.Writer
}

// RunGenerator is appagent-generator: it reads the declaration and the build id under Root
// and writes the drop-ins, hook units and masks.
//
// Generators run very early, before any log service, and a failing generator does not stop
// the boot: systemd logs it and boots on without its units. So:
//   - no declaration at all: not an appagent image (or a plain `systemd` test); write
//     nothing, say so on the log, succeed.
//   - an invalid declaration: write nothing and fail (exit 1, the report on stderr, which
//     systemd logs). `appagent init` refuses such a declaration before systemd runs (exit
//     code 3), so this is only reached when systemd is started without appagent init.
func RunGenerator(o GeneratorOptions) error {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Config == "" {
		o.Config = config.DefaultPath
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Early == "" {
		o.Early = o.Normal
	}
	cfgPath := filepath.Join(o.Root, o.Config)
	if _, err := os.Stat(cfgPath); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(o.Log, "appagent-generator: no %s; nothing to generate\n", o.Config)
		return nil
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("appagent-generator: %w", err)
	}
	var opt Options
	opt.BuildID = ImageBuildID(o.Root)
	opt.UnitPath = func(name string) string {
		for _, d := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
			if _, err := os.Stat(filepath.Join(o.Root, d, name)); err == nil {
				return filepath.Join(d, name)
			}
		}
		return ""
	}
	g := Generate(cfg, opt)
	for _, n := range g.Notes {
		fmt.Fprintf(o.Log, "appagent-generator: %s\n", n)
	}
	return Write(g, o.Normal, o.Early)
}
