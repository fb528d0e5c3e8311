package main

import (
	"context"
	"encoding/json"
	"flag"
	"path/filepath"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/diff"
	"github.com/appagent/appagent/agent/exitcode"
)

func cmdDiff() *command {
	var (
		asJSON bool
		cfgArg string
		root   string
	)
	return &command{
		name:    "diff",
		summary: "list what was written outside the volume and will be lost",
		help: `Compares the container's filesystem with the manifest 'appagent prepare' recorded in the
image (/usr/share/appagent/fs-manifest) and lists what was added, changed or deleted outside
the volume and outside places that are temporary by nature (/run, /tmp, /proc, /sys, /dev,
the built-in list in docs/diff.md, and diff.ignore of the image's declaration). That is state
that is lost when the container is re-created. It ends with the paths to add to volume.paths.

Metadata only (type, mode, owner, size, mtime): a full application image takes well under a
second. --json prints the report as one JSON document (docs/diff.md).`,
		exits: []exitcode.Code{exitcode.OK, exitcode.Failure, exitcode.Usage, exitcode.Config},
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON (docs/diff.md)")
			fs.StringVar(&cfgArg, "config", config.DefaultPath, "the image's declaration, a path inside --root")
			fs.StringVar(&root, "root", "/", "root of the filesystem to compare (for tests and offline checks)")
		},
		run: func(ctx context.Context, env *cmdEnv, args []string) error {
			cfg, err := config.Load(joinRoot(root, cfgArg))
			if err != nil {
				return exitcode.With(exitcode.Config, err)
			}
			r, err := diff.Diff(diff.Options{Root: root, Config: cfg})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			r.WriteText(env.stdout, cfg.Volume.Path, cfg.File)
			return nil
		},
	}
}

// joinRoot is the declaration's path under --root (like prepare's --config, a path inside it).
func joinRoot(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}
