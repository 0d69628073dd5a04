package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTurnTimeout is EngineConfig.TurnTimeout's default: the README
// promises a person an answer or a notice within 2 seconds.
const DefaultTurnTimeout = 2 * time.Second

// ErrTimeout is wrapped by Handle's error when the turn could not finish
// within EngineConfig.TurnTimeout (the store stalled, or earlier messages
// of the conversation held it up). The turn was abandoned: it is not
// applied, now or later, so the person may simply send the message again.
var ErrTimeout = errors.New("the turn did not finish in time and was abandoned")

// One deadline per turn, and why a turn the person was told failed is never
// applied later.
//
// Handle runs the turn (queue wait, lease, load, flow, save) in a goroutine
// under a context with the turn's deadline, and returns at the deadline
// whatever the store does: a store that ignores contexts, or a lease
// release that hangs, cannot hold the person's answer. Every store call
// derives its context from that deadline (each also bounded by
// StoreTimeout). A turn whose deadline passed before its save began is
// dropped with nothing written.
//
// The hard case is a save that was sent but whose answer did not come in
// time (Redis stopped with SIGSTOP: the script sits in its socket buffer
// and runs when Redis continues; a connection reset after the script ran).
// The person is told it failed, yet the write may land seconds later, and
// the person's re-send would then be applied on top: a step skipped. Two
// things protect the state:
//
//   - The compare-and-swap on Session.Version: the late write is a CAS on
//     the version the turn loaded, so it can land only if nothing else was
//     saved in between, and a turn that loaded that same version (the
//     re-send) and saved first makes it fail. So the state never moves
//     twice from one version.
//   - settle, run by the abandoned turn while it still holds the
//     conversation (the in-process queue and the lease): it waits for the
//     store to answer and then either fences the version the turn loaded
//     (saves the loaded state unchanged, so the late write's CAS fails) or,
//     if the write already landed (the session carries the turn's random
//     id, Session.Turn), saves the loaded state back over it. Messages of
//     the conversation queued meanwhile wait behind it (and time out while
//     the store is down), so the re-send is applied to the state the
//     person was last answered from.
//
// The event id (Session.Events, saved in the same write as the state)
// protects a redelivery of the same event: if the turn did land and was
// answered, a redelivery is a duplicate (and, with an outbox, gets the same
// unsent entry to post); if it was taken back, its id went with it, so the
// redelivery is applied once. What settle cannot take back: outcome
// records the late write appended (for the report; logged), and a late
// write followed by another replica's turn once the lease expired (settle
// gives up after LeaseTTL; logged).
//
// Two store behaviours widen "sent but unknown". A save that releases the
// lease with it (SaveUnlock) and lands late has let the lease go: settle
// takes the lease again before taking the save back. And a save answered
// ErrConflict may have landed: a pipelining client that re-sends a batch
// after a network error delivers the write twice, and the second copy
// meets the first. The next attempt recognises its own turn id (the turn
// stands), and a turn that fails before it could look settles the
// refused save like any other whose fate is unknown.

// undo is what an abandoned turn needs to take its save back.
//
// It also holds what the turn reports once it counts (report): plain
// fields rather than a closure, which would cost allocations every turn.
type undo struct {
	key     string
	address Address
	at      time.Time
	// base is the session as loaded, never changed; nil when there was
	// none. (On a MemoryStore it is the store's own immutable copy.)
	base *Session
	turn string // the Session.Turn the turn's save carries
	// saving is set once the save was sent: from then on its fate is
	// unknown until settle looks. unlocking says that save also released
	// the lease if it landed (SaveUnlock).
	saving    bool
	unlocking bool
	// saved is set once the save succeeded: the rest is what to report.
	saved       bool
	guide, step string
	outcomes    []Outcome // saved with the turn
}

// turnRun carries a turn from Handle to the goroutine running it, and its
// result back. Runs are pooled (turnctx.go): the fields down to timer are
// set by getRun before the goroutine starts.
type turnRun struct {
	e   *Engine
	key string
	m   Message
	ctx turnCtx
	// timer fires the turn's deadline (made once per run, then reset);
	// timing says it runs for this turn, and timerStopped that Handle
	// stopped it before it fired.
	timer        *time.Timer
	timing       bool
	timerStopped bool
	refs         atomic.Int32  // Handle and the goroutine, until each leaves
	expired      chan struct{} // the timer fired (buffered)
	done         chan struct{} // finish was called (buffered: one value)
	execFn       func()        // r.exec, made once

	mu      sync.Mutex
	state   int // runRunning, runCommitted, runDone or runAbandoned
	res     Result
	handoff *Handoff
	err     error
}

const (
	runRunning = iota
	runCommitted
	runDone
	runAbandoned
)

// commit hands the saved turn's result to Handle, which may return it
// before finish (the lease is still being released); false when Handle
// already gave up and told the person it failed.
func (r *turnRun) commit(res Result, h *Handoff) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == runAbandoned {
		return false
	}
	r.state, r.res, r.handoff = runCommitted, res, h
	return true
}

// committed reports whether the result was handed over by commit.
func (r *turnRun) committed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state == runCommitted
}

// abandon gives up on the turn; false when it was already saved (or
// finished), and its result is coming.
func (r *turnRun) abandon() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != runRunning {
		return false
	}
	r.state = runAbandoned
	return true
}

// finish hands over the result (a committed one stays); called once.
func (r *turnRun) finish(res Result, h *Handoff, err error) {
	r.mu.Lock()
	if r.state == runRunning {
		r.state, r.res, r.handoff, r.err = runDone, res, h, err
	}
	r.mu.Unlock()
	r.done <- struct{}{}
}

// timedTurn runs the turn of m under the turn deadline, as described above.
func (e *Engine) timedTurn(ctx context.Context, key string, m Message) (Result, *Handoff, error) {
	run := getRun(e, ctx, key, m)
	deadline := run.ctx.deadline
	spawn(run.execFn) // on a goroutine whose stack has grown already, see workers.go
	defer run.leave()
	finished := false
	select {
	case <-run.done:
		finished = true
	case <-run.expired:
	case <-ctx.Done():
	}
	if !finished {
		if run.abandon() {
			run.stopTimer()
			if err := ctx.Err(); err != nil {
				return Result{}, nil, fmt.Errorf("turn abandoned: %w", err)
			}
			e.log.Warn("turn abandoned at its deadline", "conversation", LogKey(key), "platform", m.Platform, "timeout", e.cfg.TurnTimeout)
			return Result{}, nil, fmt.Errorf("%w (turn_timeout %s)", ErrTimeout, e.cfg.TurnTimeout)
		}
		if !run.committed() {
			<-run.done // finishing now
		}
	}
	run.stopTimer()
	run.mu.Lock()
	defer run.mu.Unlock()
	err := run.err
	if err != nil && !deadline.IsZero() && ctx.Err() == nil && !time.Now().Before(deadline) && !errors.Is(err, ErrTimeout) {
		// A store call gave up at the deadline (a client timeout is not
		// always the context's error).
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return run.res, run.handoff, err
}

// runTurn holds the conversation (queue, then lease) and applies m,
// retrying on conflicts, until ctx's deadline. It hands its result over
// with run.finish as soon as it has one, then settles a save whose fate is
// unknown before letting the conversation go.
func (e *Engine) runTurn(ctx context.Context, key string, m Message, run *turnRun) {
	h := hold{e: e, key: key}
	if err := h.take(ctx); err != nil {
		run.finish(Result{}, nil, err)
		return
	}
	// The lease is released before the result is handed over (a caller
	// that returns may be followed at once by a crash, or by the next
	// message on another replica), except while settling; on a
	// SaveUnlocker the turn's save already released it.
	defer h.release()
	var (
		// last is the last attempt, when its save met ErrConflict (prev
		// then points at it). A value, not the loop's u: taking u's
		// address would move it to the heap on every turn.
		last    undo
		prev    *undo
		prevRes Result
		prevHf  *Handoff
	)
	for range maxConflictRetries {
		var u undo
		res, hf, err := e.turn(ctx, &h, m, &u, prev)
		if errors.Is(err, errLanded) {
			// The last attempt's save landed after all: it is the turn.
			u, res, hf, err = *prev, prevRes, prevHf, nil
			u.saved = true
		}
		switch {
		case errors.Is(err, ErrConflict):
			last, prevRes, prevHf = u, res, hf
			prev = &last
			continue
		case err == nil && run.commit(res, hf):
			e.report(m.Platform, &u)
			h.unleash()
			run.finish(res, hf, nil)
		case err == nil:
			// Saved just after Handle gave up and told the person it
			// failed: take it back.
			run.finish(Result{}, nil, nil)
			e.settle(&u)
		case u.saving:
			run.finish(Result{}, nil, err)
			e.settle(&u)
		case prev != nil:
			// Failed before saving (the deadline passed while loading
			// again, say) after a save refused with ErrConflict: that
			// refusal may have been a re-sent copy of a write that landed
			// (see turn), which this attempt could not look at. Settle it.
			run.finish(Result{}, nil, err)
			e.settle(prev)
		default:
			h.unleash()
			run.finish(Result{}, nil, err)
		}
		return
	}
	run.finish(Result{}, nil, ErrBusy)
	if prev != nil {
		e.settle(prev)
	}
	h.unleash()
}

// classify compares the stored session cur with the turn's base: the
// version to write the base back at and whether the turn's save landed,
// or done when nothing needs doing.
func (u *undo) classify(cur *Session) (version uint64, landed, done bool) {
	var base uint64
	if u.base != nil {
		base = u.base.Version
	}
	switch {
	case cur == nil && base == 0:
		return 0, false, false
	case cur == nil:
		return 0, false, true // deleted meanwhile: nothing to take back
	case cur.Version == base:
		return base, false, false // not landed (yet): fence it off
	case cur.Turn == u.turn:
		return cur.Version, true, false
	default:
		// Someone else saved since; the turn's save cannot land any more
		// (its CAS is on an older version).
		return 0, false, true
	}
}

// settle makes sure the save of an abandoned turn is not applied: once the
// store answers, it fences the version the turn loaded, or rolls the
// session back to it if the save landed. It runs while the turn still
// holds the conversation, for at most LeaseTTL.
func (e *Engine) settle(u *undo) {
	stop := time.Now().Add(e.cfg.LeaseTTL)
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := min(time.Duration(attempt)*20*time.Millisecond, 250*time.Millisecond)
			if time.Now().Add(wait).After(stop) {
				break
			}
			time.Sleep(wait)
		}
		ctx, cancel := context.WithDeadline(context.Background(), stop)
		done, err := e.settleOnce(ctx, u)
		cancel()
		if done {
			return
		}
		lastErr = err
	}
	e.log.Error("could not check an abandoned turn's save; it may still be applied", "conversation", LogKey(u.key), "err", lastErr)
}

// settleOnce is one look at the store for settle; done reports that
// nothing more needs doing.
func (e *Engine) settleOnce(ctx context.Context, u *undo) (done bool, err error) {
	cur, err := e.load(ctx, u.key)
	if err != nil {
		return false, err
	}
	version, landed, done := u.classify(cur)
	if done {
		return true, nil
	}
	if landed && u.unlocking {
		// The save released the lease as it landed (SaveUnlock): take it
		// again before taking the save back, so that another replica's
		// turn cannot build on the late state meanwhile, and look again
		// under it.
		re := hold{e: e, key: u.key}
		if err := re.lease(ctx); err != nil {
			return false, err
		}
		defer re.unleash()
		if cur, err = re.load(ctx); err != nil {
			return false, err
		}
		if version, landed, done = u.classify(cur); done {
			if cur != nil && cur.Turn != u.turn {
				e.log.Warn("an abandoned turn's save landed late, and another turn followed it before it could be taken back", "conversation", LogKey(u.key))
			}
			return true, nil
		}
	}
	var back *Session
	if u.base != nil {
		back = cloneSession(u.base)
	} else {
		back = &Session{Key: u.key, Address: u.address, Started: u.at, Updated: u.at}
	}
	back.Version = version
	if err := e.save(ctx, back, nil); err != nil {
		return false, err
	}
	if landed {
		e.log.Warn("an abandoned turn's save landed late; it was taken back", "conversation", LogKey(u.key), "outcome_records_kept", len(u.outcomes) > 0)
	}
	return true, nil
}
