package bot

import (
	"sync"
	"sync/atomic"
	"time"
)

// Turn goroutines are reused rather than started afresh. A new goroutine
// begins with a small stack and grows it by copying as the turn goes
// down through the flow, the answer parser and the store's decoder: a
// profile of the memory-store bench put runtime.copystack at 15 % of the
// engine's CPU, the Redis one at 9 %. A goroutine that finished a turn
// has its stack grown already; it waits a while for the next.
//
// This is not a worker pool with a cap: when no goroutine is idle, a new
// one starts, so no turn ever waits for another to end. The goroutine
// that went idle last takes the next turn (a stack, not a queue): under
// a steady trickle the same few stay warm, and the rest, idle for
// workerIdle, leave, so a burst's goroutines do not all stay alive
// forever taking turns in rotation (with stacks the GC had shrunk).

// workerIdle is how long, in nanoseconds, a goroutine that finished a
// turn waits for the next before it exits: 10 s (atomic, for tests).
var workerIdle atomic.Int64

func init() { workerIdle.Store(int64(10 * time.Second)) }

// maxIdleWorkers bounds the goroutines kept waiting; beyond it one that
// finished a turn exits at once.
const maxIdleWorkers = 1024

// worker is an idle goroutine's mailbox: spawn, having taken it off the
// idle stack, sends it exactly one turn (buffered, so spawn never waits).
type worker struct{ turn chan func() }

var (
	idleMu      sync.Mutex
	idleWorkers []*worker    // the most recently idle last
	liveWorkers atomic.Int64 // goroutines started by spawn and not yet gone
)

// spawn runs fn on the most recently idle turn goroutine, or on a new
// one when none is idle. It never blocks on fn.
func spawn(fn func()) {
	idleMu.Lock()
	if n := len(idleWorkers); n > 0 {
		w := idleWorkers[n-1]
		idleWorkers[n-1] = nil
		idleWorkers = idleWorkers[:n-1]
		idleMu.Unlock()
		w.turn <- fn
		return
	}
	idleMu.Unlock()
	liveWorkers.Add(1)
	go work(fn)
}

// work runs fn, then the turns handed to it while it is idle, until it
// has been idle for workerIdle (or finds maxIdleWorkers already idle).
func work(fn func()) {
	defer liveWorkers.Add(-1)
	w := &worker{turn: make(chan func(), 1)}
	idle := time.NewTimer(time.Duration(workerIdle.Load()))
	defer idle.Stop()
	for {
		fn()
		idleMu.Lock()
		if len(idleWorkers) >= maxIdleWorkers {
			idleMu.Unlock()
			return
		}
		idleWorkers = append(idleWorkers, w)
		idleMu.Unlock()
		idle.Reset(time.Duration(workerIdle.Load()))
		select {
		case fn = <-w.turn:
			continue
		case <-idle.C:
		}
		idleMu.Lock()
		// The longest idle are at the bottom of the stack: look there
		// first.
		for i, x := range idleWorkers {
			if x == w {
				last := len(idleWorkers) - 1
				copy(idleWorkers[i:], idleWorkers[i+1:])
				idleWorkers[last] = nil
				idleWorkers = idleWorkers[:last]
				idleMu.Unlock()
				return
			}
		}
		idleMu.Unlock()
		// spawn took it off the stack just as the timer fired: its turn
		// is on the way.
		fn = <-w.turn
	}
}
