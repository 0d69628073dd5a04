package bot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Why turns carry their own context type and are pooled.
//
// Every message runs its turn on a goroutine of its own, under the turn's
// deadline (see timedTurn). Built from context.WithDeadline, a closure and
// a fresh channel, that machinery cost nine allocations per message: about
// a fifth of a whole turn on the memory store. A turnRun instead carries
// everything the goroutine needs, its context (turnCtx) and a deadline
// timer, and goes back to a pool once both Handle and the goroutine are
// done with it and nothing can still fire on it. The context's Done
// channel is made only when somebody asks for it (the turn queue when it
// must wait, a store that selects on it), and then kept across uses.

// turnCtx is the context a turn runs under: its parent (Handle's context)
// plus the turn's deadline, enforced by turnRun's timer.
type turnCtx struct {
	parent   context.Context
	deadline time.Time // zero without a turn deadline

	mu   sync.Mutex
	err  error         // set once the deadline passed
	done chan struct{} // made on demand; closed once err or the parent's is set
	// stopParent unregisters the function that ends c when the parent
	// ends (registered with done or the first AfterFunc); nil when none
	// is registered.
	stopParent func() bool
	// funcs are the AfterFunc registrations still pending, by id.
	funcs []afterFunc
}

// afterFunc is one AfterFunc registration. Ids are unique for the life
// of the process, so a stop function kept past its turn stops nothing of
// a later one.
type afterFunc struct {
	id uint64
	f  func()
}

// afterFuncIDs numbers AfterFunc registrations.
var afterFuncIDs atomic.Uint64

var _ context.Context = (*turnCtx)(nil)

// Deadline implements context.Context: the turn's deadline, or the
// parent's when that is earlier.
func (c *turnCtx) Deadline() (time.Time, bool) {
	pd, ok := c.parent.Deadline()
	switch {
	case c.deadline.IsZero():
		return pd, ok
	case ok && pd.Before(c.deadline):
		return pd, true
	}
	return c.deadline, true
}

// Done implements context.Context. The channel is made on the first call,
// already closed if the context has ended.
func (c *turnCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
			return c.done
		}
	}
	c.watchParent()
	return c.done
}

// watchParent makes the parent's end end c too, once something waits on
// c. c.mu must be held.
func (c *turnCtx) watchParent() {
	if c.stopParent == nil && c.err == nil && c.parent.Done() != nil {
		parent := c.parent
		c.stopParent = context.AfterFunc(parent, func() { c.end(parent.Err()) })
	}
}

// AfterFunc arranges for f to run in its own goroutine once c ends, as
// context.AfterFunc does; stop unregisters it. The context package uses
// it for contexts derived from c (instead of a goroutine watching c), so
// that a turnCtx is referenced only while something is registered, and
// is reused only once nothing is (reset).
func (c *turnCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	id := afterFuncIDs.Add(1)
	c.funcs = append(c.funcs, afterFunc{id, f})
	c.watchParent()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, a := range c.funcs {
			if a.id == id {
				c.funcs = append(c.funcs[:i], c.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Err implements context.Context: DeadlineExceeded once the turn's
// deadline passed, else the parent's error.
func (c *turnCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.parent.Err()
}

// Value implements context.Context: the parent's values.
func (c *turnCtx) Value(key any) any { return c.parent.Value(key) }

// end records err as the context's error, once, and closes done.
func (c *turnCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	for _, a := range c.funcs {
		go a.f()
	}
	c.funcs = nil
}

// reset readies c for another turn; false when it cannot be reused (it
// ended, or the function watching the parent could not be stopped).
func (c *turnCtx) reset() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || len(c.funcs) > 0 || c.stopParent != nil && !c.stopParent() {
		return false
	}
	c.parent, c.deadline, c.stopParent = nil, time.Time{}, nil
	return true
}

// turnRuns holds turnRuns for reuse (see above).
var turnRuns = sync.Pool{New: func() any {
	return &turnRun{done: make(chan struct{}, 1), expired: make(chan struct{}, 1)}
}}

// getRun returns a turnRun ready to run the turn of m on e under parent,
// with its deadline timer running when the engine has a turn timeout.
func getRun(e *Engine, parent context.Context, key string, m Message) *turnRun {
	r := turnRuns.Get().(*turnRun)
	if r.execFn == nil {
		// Made once per run: "go r.exec()" would allocate a closure
		// every turn.
		r.execFn = r.exec
	}
	r.e, r.key, r.m = e, key, m
	r.ctx.parent = parent
	r.refs.Store(2) // Handle and the goroutine
	if d := e.cfg.TurnTimeout; d > 0 {
		r.ctx.deadline = time.Now().Add(d)
		if r.timer == nil {
			r.timer = time.AfterFunc(d, r.expire)
		} else {
			r.timer.Reset(d)
		}
		r.timing = true
	}
	return r
}

// expire is the deadline timer's function: the context ends, and Handle
// is woken.
func (r *turnRun) expire() {
	r.ctx.end(context.DeadlineExceeded)
	select {
	case r.expired <- struct{}{}:
	default:
	}
}

// exec runs the turn on its own goroutine.
func (r *turnRun) exec() {
	r.e.runTurn(&r.ctx, r.key, r.m, r)
	r.leave()
}

// stopTimer stops the deadline timer, for Handle once it has its answer;
// the goroutine needs no deadline after handing its result over. It
// reports whether the timer (if any) had not fired.
func (r *turnRun) stopTimer() {
	if r.timing {
		r.timing = false
		r.timerStopped = r.timer.Stop()
	} else {
		r.timerStopped = true
	}
}

// leave is called once by Handle (after stopTimer) and once by the
// goroutine when each is done with r; the last one puts r back in the
// pool when nothing can fire on it any more.
func (r *turnRun) leave() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if !r.timerStopped || !r.ctx.reset() {
		return // the timer fired, or the parent's watcher ran: let it go
	}
	select {
	case <-r.done:
	default:
	}
	r.e, r.key, r.m = nil, "", Message{}
	r.state, r.res, r.handoff, r.err = runRunning, Result{}, nil, nil
	turnRuns.Put(r)
}
