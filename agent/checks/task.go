package checks

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/confine"
)

// Task is the agent's checks task (a service.Task): one goroutine per declared check, each
// run on its interval, every result published to ResultsFile at once.
type Task struct {
	Config      *config.Config   // the declaration, loaded once by the agent; nil: load ConfigPath
	ConfigPath  string           // "" is config.DefaultPath
	ResultsFile string           // default ResultsFile
	Now         func() time.Time // default time.Now
	// Stopping tells that the container is shutting down (systemd's state "stopping"): the
	// checks then stop. Run on, they would reach units as they stop (an HTTP request keeps an
	// Apache worker busy through its graceful stop), report failures of a clean stop, and
	// run the check hook (failure mail) for them. nil: never.
	Stopping func() bool
	// Self is the appagent binary, which runs the check hook confined to the volume
	// (agent/confine) unless it is declared confine: false; "": unconfined.
	Self string
	// Gate tells whether a check's unit has started (Gate); nil: every check runs from the
	// agent's start, its start period counted from there.
	Gate GateFunc
}

func (t *Task) Name() string { return "checks" }

// hookTimeout is the check hook's timeout when it declares none.
const hookTimeout = time.Minute

func (t *Task) Start(ctx context.Context, log hclog.Logger) (<-chan error, error) {
	cfg, err := config.Loaded(t.Config, t.ConfigPath)
	if err != nil {
		return nil, err
	}
	file := t.ResultsFile
	if file == "" {
		file = ResultsFile
	}
	now := t.Now
	if now == nil {
		now = time.Now
	}
	done := make(chan error, 1)
	if len(cfg.Checks) == 0 {
		_ = os.Remove(file) // none declared: no stale results from another image
		go func() { <-ctx.Done(); done <- nil }()
		return done, nil
	}
	started := now()
	trackers := make([]*tracker, len(cfg.Checks))
	for i, c := range cfg.Checks {
		trackers[i] = newTracker(c, started)
	}
	var mu sync.Mutex
	publish := func() {
		res := make([]Result, len(trackers))
		for i, k := range trackers {
			res[i] = k.res
		}
		if err := Write(file, res); err != nil {
			log.Error("cannot publish the check results", "path", file, "error", err)
		}
	}
	mu.Lock()
	publish()
	mu.Unlock()
	var wg sync.WaitGroup
	for _, k := range trackers {
		wg.Add(1)
		go func(k *tracker) {
			defer wg.Done()
			for {
				if t.Stopping != nil && t.Stopping() {
					log.Info("the container is stopping: checks end", "check", k.check.Name)
					return
				}
				if !t.admit(ctx, log, &mu, k, now, publish) {
					if !sleep(ctx, k.check.Interval.Duration) {
						return
					}
					continue
				}
				ok, out := run(ctx, k.check)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				changed := k.record(now(), ok, out)
				state := k.res.State
				publish()
				mu.Unlock()
				if changed {
					if state == Failing {
						log.Warn("check failing", "check", k.check.Name, "unit", k.check.Unit, "output", out, "on_fail", k.check.OnFail)
					} else {
						log.Info("check passing again", "check", k.check.Name, "unit", k.check.Unit, "output", out)
					}
					if cfg.Hooks.Check != nil {
						runHook(ctx, log, t.hookArgv(cfg), cfg.Hooks.Check, k.check.Name, state, out)
					}
				}
				if !sleep(ctx, k.check.Interval.Duration) {
					return
				}
			}
		}(k)
	}
	go func() {
		wg.Wait()
		// Checks ended by the stop: the task itself lasts until the agent stops (a task that
		// ends stops the agent, and the log forwarder must see the shutdown through).
		<-ctx.Done()
		done <- nil
	}()
	log.Info("running the application checks", "count", len(trackers), "path", file)
	return done, nil
}

// admit asks the gate whether k may run now (Gate, tracker.admit); a waiting check is
// published with what it waits for. A gate that cannot be read lets the check run: counted
// from the agent's start, as without a gate, rather than pending for ever.
func (t *Task) admit(ctx context.Context, log hclog.Logger, mu *sync.Mutex, k *tracker, now func() time.Time, publish func()) bool {
	if t.Gate == nil {
		return true
	}
	mu.Lock()
	passed := k.passedOnce
	mu.Unlock()
	if passed {
		return true
	}
	g, err := t.Gate(ctx, k.check.Unit)
	if err != nil {
		log.Debug("cannot tell whether the check's unit started; running it", "check", k.check.Name, "unit", k.check.Unit, "error", err)
		return true
	}
	mu.Lock()
	defer mu.Unlock()
	before := k.res.Output
	ok := k.admit(now(), g)
	if k.res.Output != before {
		publish()
	}
	return ok
}

// sleep waits d, false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// hookArgv is the command line of the check hook: by /bin/sh -c, through the confine
// command of Self when the hook is confined.
func (t *Task) hookArgv(cfg *config.Config) []string {
	h := cfg.Hooks.Check
	argv := []string{"/bin/sh", "-c", h.Command}
	if t.Self == "" || !h.Confined() {
		return argv
	}
	return confine.Args(t.Self, h.Writable(cfg.Volume.Path), argv)
}

// runHook runs hooks.check (argv) for one transition; its output goes to the journal.
func runHook(ctx context.Context, log hclog.Logger, argv []string, h *config.Hook, name, state, output string) {
	d := h.Timeout.Duration
	if d <= 0 {
		d = hookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(commandEnv(), "APPAGENT_CHECK="+name, "APPAGENT_CHECK_STATE="+state, "APPAGENT_CHECK_OUTPUT="+output)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l != "" {
			log.Info("check hook", "check", name, "line", oneLine(l))
		}
	}
	if err != nil {
		log.Error("the check hook failed", "check", name, "state", state, "error", err)
	}
}
