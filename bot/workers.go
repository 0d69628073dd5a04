package bot

import "time"

// Turn goroutines are reused rather than started afresh. A new goroutine
// begins with a small stack and grows it by copying as the turn goes
// down through the flow, the answer parser and the store's decoder: a
// profile of the memory-store bench put runtime.copystack at 15 % of the
// engine's CPU, the Redis one at 9 %. A goroutine that finished a turn
// has its stack grown already; it waits a while for the next.
//
// This is not a worker pool with a cap: when no goroutine is idle, a new
// one starts, so no turn ever waits for another to end. Idle goroutines
// leave after workerIdle without work (the runtime may also shrink their
// stacks at a GC, which costs nothing but the copy next time).

// workerIdle is how long a goroutine that finished a turn waits for the
// next before it exits.
const workerIdle = 10 * time.Second

// idleWorkers hands a turn to a goroutine waiting in work. Unbuffered: a
// send succeeds only when a goroutine is ready to take it.
var idleWorkers = make(chan func())

// spawn runs fn on an idle turn goroutine, or on a new one when none is
// idle. It never blocks on fn.
func spawn(fn func()) {
	select {
	case idleWorkers <- fn:
	default:
		go work(fn)
	}
}

// work runs fn, then the turns handed to it while it is idle, until it
// has been idle for workerIdle.
func work(fn func()) {
	fn()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case fn := <-idleWorkers:
			fn()
			idle.Reset(workerIdle)
		case <-idle.C:
			return
		}
	}
}
