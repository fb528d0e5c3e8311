package image

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// Options configure Prepare.
type Options struct {
	// Root of the image's filesystem ("/" in a Containerfile).
	Root string
	// Config is the declaration's path inside Root (default config.DefaultPath).
	Config string
	// Out receives progress lines.
	Out io.Writer
}

// Prepare runs every build-time step. Validation problems come back as a *config.ReportError
// carrying exitcode.Config.
func Prepare(o Options) error {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Config == "" {
		o.Config = config.DefaultPath
	}
	var cfg *config.Config
	if err := op(o.Out, "validate "+o.Config, func() error {
		c, err := config.Load(filepath.Join(o.Root, o.Config))
		if err != nil {
			return exitcode.With(exitcode.Config, err)
		}
		cfg = c
		return nil
	}); err != nil {
		return err
	}
	if err := op(o.Out, "install appagent's units", func() error { return InstallUnits(o.Root) }); err != nil {
		return err
	}
	if err := op(o.Out, "install journald settings", func() error { return InstallJournald(o.Root) }); err != nil {
		return err
	}
	_ = cfg
	fmt.Fprintln(o.Out, "prepare: done")
	return nil
}
