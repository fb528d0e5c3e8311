package params

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// ReconfigureUnit is the hook unit the generator makes for hooks.reconfigure (agent/units
// names the same unit; units imports this package, so the name is declared here).
const ReconfigureUnit = "appagent-reconfigure.service"

// settle is how long the follower waits after the last event in the secrets directory:
// Kubernetes swaps a whole new set of files in several steps (a new dated directory, the
// ..data_tmp link, its rename over ..data, the old directory's removal).
const settle = 300 * time.Millisecond

// StartUnit starts a unit without waiting for it (the reconfigure hook); tests swap it.
type StartUnit func(ctx context.Context, name string) error

// startWithSystemd asks systemd over its private socket (go-systemd's dbus package).
func startWithSystemd(ctx context.Context, name string) error {
	conn, err := sddbus.NewSystemdConnectionContext(ctx)
	if err != nil {
		return fmt.Errorf("connecting to systemd: %w", err)
	}
	defer conn.Close()
	if _, err := conn.StartUnitContext(ctx, name, "replace", nil); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	return nil
}

// follower keeps the running container's parameters in step with the files in the secrets
// directory, which Kubernetes updates in place when a mounted Secret or ConfigMap changes.
type follower struct {
	cfg        *config.Config
	env        []string
	secretsDir string
	runtimeDir string
	start      StartUnit
	log        hclog.Logger
	current    *Set
}

// watch starts watching secretsDir, before the task says it is ready, so that no change
// after the first resolve is missed. nil: nothing to follow (no directory: podman and docker
// secrets do not change while a container runs), or it cannot be (said in the log; the values
// are then taken at the next start).
func (f *follower) watch() *fsnotify.Watcher {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		f.log.Warn("cannot follow the parameter files; changes are taken at the next start", "path", f.secretsDir, "error", err)
		return nil
	}
	if err := w.Add(f.secretsDir); err != nil {
		w.Close()
		if errors.Is(err, os.ErrNotExist) {
			f.log.Debug("no secrets directory to follow", "path", f.secretsDir)
		} else {
			f.log.Warn("cannot follow the parameter files; changes are taken at the next start", "path", f.secretsDir, "error", err)
		}
		return nil
	}
	f.log.Info("following parameter files", "path", f.secretsDir)
	return w
}

// follow applies what changes in secretsDir until ctx is done.
func (f *follower) follow(ctx context.Context, w *fsnotify.Watcher) error {
	if w == nil {
		<-ctx.Done()
		return nil
	}
	defer w.Close()
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			f.log.Trace("event", "path", fmt.Sprintf("%q", ev.Name), "op", ev.Op.String())
			timer = time.After(settle)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow loses events, not the state: read everything again.
			f.log.Warn("watching the parameter files", "path", f.secretsDir, "error", err)
			timer = time.After(settle)
		case <-timer:
			timer = nil
			f.apply(ctx)
		}
	}
}

// apply resolves the parameters again, as a start would, and takes the result only when it
// is valid: values are stored and the files for units rewritten, and the reconfigure hook
// runs for changed on_change: reconfigure parameters. A value that is invalid, or refused by
// on_change: refuse, changes nothing while the container runs; the log says so, never with
// a value.
func (f *follower) apply(ctx context.Context) {
	stored, err := LoadStored(f.cfg.Volume.Path)
	if err != nil {
		f.log.Error("parameter files changed, but the stored values cannot be read", "error", err)
		return
	}
	set, err := Resolve(f.cfg, Inputs{Env: f.env, SecretsDir: f.secretsDir, Stored: stored})
	if err != nil {
		if exitcode.Of(err) == exitcode.ParamChanged {
			f.log.Error("parameter files changed a parameter this image refuses to change; the container keeps the stored value, and its next start fails with exit code 18 until the file holds the stored value again",
				"path", f.secretsDir, "problems", oneLine(err.Error()))
			return
		}
		f.log.Error("parameter files changed, but the new values are not valid; nothing is changed", "path", f.secretsDir, "problems", oneLine(err.Error()))
		return
	}
	for _, w := range set.Warnings {
		f.log.Warn(w.Message, "param", w.Key)
	}
	changed := differ(f.current, set)
	if len(changed) == 0 {
		f.log.Debug("parameter files changed, no value did")
		return
	}
	if err := Store(f.cfg.Volume.Path, set); err != nil {
		f.log.Error("parameter files changed, but the new values cannot be stored; nothing is changed", "error", err)
		return
	}
	if err := WriteRuntime(f.runtimeDir, set); err != nil {
		f.log.Error("parameter files changed, but the files for units cannot be written", "path", f.runtimeDir, "error", err)
		return
	}
	f.current = set
	f.log.Info("parameters changed while running", "params", strings.Join(changed, " "))
	if len(set.Changed) == 0 {
		return
	}
	if err := MarkReconfigure(f.cfg.Volume.Path, set.Changed); err != nil {
		f.log.Error("cannot ask for the reconfigure hook", "error", err)
		return
	}
	if f.cfg.Hooks.Reconfigure == nil {
		return
	}
	if err := f.start(ctx, ReconfigureUnit); err != nil {
		f.log.Error("cannot start the reconfigure hook; it runs at the next start", "unit", ReconfigureUnit, "error", err)
		return
	}
	f.log.Info("reconfigure hook started", "unit", ReconfigureUnit, "params", strings.Join(set.Changed, " "))
}

// differ names the parameters whose value or source differ between two sets.
func differ(a, b *Set) []string {
	old := map[string]Value{}
	if a != nil {
		for _, v := range a.Values {
			old[v.Name] = v
		}
	}
	var out []string
	for _, v := range b.Values {
		if o, ok := old[v.Name]; !ok || o.Value != v.Value || o.IsSet() != v.IsSet() {
			out = append(out, v.Name)
		}
	}
	return out
}
