package harness

import (
	"os/exec"
	"runtime"
	"sync"
)

// Pdeathsig is sent when the *thread* that forked a child exits, not only when the process
// dies (see prctl(2)). Go may end a thread when a goroutine that locked it returns, so the
// harness forks every child from one goroutine locked to a thread that never exits: the
// children then get their death signal only when the test process dies.
var (
	spawnOnce sync.Once
	spawnReq  chan spawnJob
)

type spawnJob struct {
	cmd  *exec.Cmd
	done chan error
}

// Start starts cmd from the harness's spawner thread (see above); use it instead of
// cmd.Start for commands with Pdeathsig.
func Start(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan spawnJob)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for j := range spawnReq {
				j.done <- j.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnReq <- spawnJob{cmd, done}
	return <-done
}
