package service

import (
	"context"
	"fmt"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
)

// Task is one job of the agent. Start must return once the task is ready to serve (so READY=1
// is only sent when every task is up); the task then runs until ctx is done and reports its
// end on the returned channel (nil for a clean stop).
type Task interface {
	Name() string
	Start(ctx context.Context, log hclog.Logger) (<-chan error, error)
}

// Options configure Run.
type Options struct {
	Log   hclog.Logger
	Tasks []Task
}

type result struct {
	name string
	err  error
}

// Run starts every task, notifies systemd that the agent is ready, and waits until ctx is
// cancelled (SIGTERM) or a task fails; then it stops the other tasks and waits for them, so a
// task such as log forwarding can drain. It returns nil on a clean stop.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()

	results := make(chan result, len(o.Tasks))
	started := 0
	var startErr error
	for _, t := range o.Tasks {
		log.Debug("starting task", "task", t.Name())
		done, err := t.Start(tctx, log.Named(t.Name()))
		if err != nil {
			startErr = fmt.Errorf("agent: start %s: %w", t.Name(), err)
			break
		}
		started++
		go func(name string) { results <- result{name, <-done} }(t.Name())
	}

	var first error
	pending := started
	if startErr != nil {
		first = startErr
	} else {
		sent, err := daemon.SdNotify(false, daemon.SdNotifyReady)
		switch {
		case err != nil:
			log.Warn("could not notify systemd", "error", err)
		case !sent:
			log.Info("not running under systemd (no NOTIFY_SOCKET); continuing")
		}
		log.Info("agent ready", "tasks", started)
		select {
		case <-ctx.Done():
			log.Info("stop requested")
		case r := <-results:
			pending--
			if r.err != nil {
				first = fmt.Errorf("agent: %s: %w", r.name, r.err)
				log.Error("task failed, stopping", "task", r.name, "error", r.err)
			} else {
				log.Info("task ended, stopping", "task", r.name)
			}
		}
	}
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	cancel()
	for ; pending > 0; pending-- {
		r := <-results
		if r.err != nil && first == nil && ctx.Err() == nil {
			first = fmt.Errorf("agent: %s: %w", r.name, r.err)
		}
	}
	log.Info("stopped")
	return first
}
