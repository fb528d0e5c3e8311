package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

type fakeTask struct {
	name     string
	startErr error
	failWith error // sent after start when not nil
	stopped  chan struct{}
}

func (f *fakeTask) Name() string { return f.name }
func (f *fakeTask) Start(ctx context.Context, _ hclog.Logger) (<-chan error, error) {
	if f.startErr != nil {
		return nil, f.startErr
	}
	done := make(chan error, 1)
	go func() {
		if f.failWith != nil {
			done <- f.failWith
			return
		}
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // a draining task
		close(f.stopped)
		done <- nil
	}()
	return done, nil
}

func newTask(name string) *fakeTask { return &fakeTask{name: name, stopped: make(chan struct{})} }

func TestRunStopsCleanlyAndWaitsForTasks(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	a, b := newTask("a"), newTask("b")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, Options{Tasks: []Task{a, b}}) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	for _, f := range []*fakeTask{a, b} {
		select {
		case <-f.stopped:
		default:
			t.Errorf("Run returned before task %s drained", f.name)
		}
	}
}

func TestRunTaskFailureStopsOthers(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	a := newTask("a")
	bad := &fakeTask{name: "bad", failWith: errors.New("journal gone")}
	err := Run(context.Background(), Options{Tasks: []Task{a, bad}})
	if err == nil || !strings.Contains(err.Error(), "bad: journal gone") {
		t.Fatalf("err = %v, want the failing task named", err)
	}
	<-a.stopped
}

func TestRunStartFailure(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	a := newTask("a")
	err := Run(context.Background(), Options{Tasks: []Task{a, &fakeTask{name: "x", startErr: errors.New("no")}}})
	if err == nil || !strings.Contains(err.Error(), "start x: no") {
		t.Fatalf("err = %v", err)
	}
	<-a.stopped
}
