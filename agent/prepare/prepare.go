package prepare

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/appagent/appagent/agent/checks"
	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/diff"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/params"
	"github.com/appagent/appagent/agent/units"
	"github.com/appagent/appagent/agent/upgrade"
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
	// Everything is checked, and every problem reported at once, before the image is changed.
	if err := op(o.Out, "check parameter defaults and the volume paths", func() error {
		rep := params.CheckDeclarations(cfg)
		rep.Merge(upgrade.CheckPaths(o.Root, cfg))
		rep.Merge(checks.CheckImage(o.Root, cfg))
		for _, w := range rep.Warnings() {
			fmt.Fprintln(o.Out, w.String())
		}
		return exitcode.With(exitcode.Config, rep.Err())
	}); err != nil {
		return err
	}
	if err := op(o.Out, "install appagent's units", func() error { return InstallUnits(o.Root) }); err != nil {
		return err
	}
	// Masks and the default target are written by the generator at boot (generator early
	// dir), not into /etc/systemd/system, which an image may keep on the volume.
	if err := op(o.Out, "install the systemd generator (drop-ins, hooks, masks)", func() error { return units.InstallGenerator(o.Root) }); err != nil {
		return err
	}
	if err := op(o.Out, "install journald settings", func() error { return InstallJournald(o.Root) }); err != nil {
		return err
	}
	if err := op(o.Out, "link "+InitLink+" to appagent (the entrypoint podman and CRI-O run in systemd mode)", func() error {
		return InstallInitLink(o.Root, o.Out)
	}); err != nil {
		return err
	}
	if err := op(o.Out, "move the volume paths into the template, record its manifest and build id", func() error {
		return upgrade.Prepare(o.Root, cfg, o.Out)
	}); err != nil {
		return err
	}
	if err := op(o.Out, "move tmpfiles.d rules for volume paths onto the volume", func() error {
		paths, _ := cfg.VolumePaths(o.Root) // checked above
		var ps []string
		for _, p := range paths {
			ps = append(ps, p.Path)
		}
		return moveTmpfilesStep(o.Root, cfg.Volume.Path, ps, o.Out)
	}); err != nil {
		return err
	}
	// Keep this the LAST step: the manifest must see the image as it ships (symlinks to the
	// volume, masks, units), so that `appagent diff` reports only what happens at run time.
	if err := op(o.Out, "record the image's filesystem for appagent diff", func() error {
		n, err := diff.Record(diff.Options{Root: o.Root, Config: cfg})
		if err == nil {
			fmt.Fprintf(o.Out, "recorded %d entries in %s\n", n, diff.ManifestPath)
		}
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "prepare: done")
	return nil
}
