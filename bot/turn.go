package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"
)

// Handle processes one message and returns the replies to send. It blocks
// while earlier messages of the same conversation are handled, but never
// past EngineConfig.TurnTimeout: the whole turn (queue, lease, load, save)
// runs under that one deadline. Errors are ErrTimeout (wrapped), store
// failures (wrapped), ErrBusy, ctx's error, or a flow bug; the
// conversation's saved state is then unchanged, and stays so (see settle),
// and the message may be delivered again.
//
// On platforms that keep an outbox (KeepOutbox), Result.Outbox names the
// entry holding Result.Replies, saved with the turn; the adapter confirms
// it with Delivered once posted.
func (e *Engine) Handle(ctx context.Context, m Message) (res Result, err error) {
	start := time.Now()
	defer func() { e.obs.Handled(m.Platform, time.Since(start), len(res.Replies), res.Duplicate, err) }()
	key := m.Address.Key()
	var handoff *Handoff
	res, handoff, err = e.timedTurn(ctx, key, m)
	if err != nil {
		return Result{}, err
	}
	if handoff != nil {
		// Posted outside the conversation's lock: the post may take
		// retries, and the conversation (saved as handed off) is quiet.
		res.Replies = append(res.Replies, e.handOff(ctx, *handoff))
	}
	return res, nil
}

// turn is one load–apply–save attempt. It returns the handoff to post when
// the turn handed the conversation to staff, and fills u with what it takes
// to take the save back (settle) and what to report once it counts.
//
// prev is the previous attempt of the same turn when its save was refused
// with ErrConflict, else nil. If the session now carries prev's turn id,
// that save had landed after all (a store that sent the write twice, as
// pipelines retried after a network error do, sees its own write the
// second time): turn then returns errLanded, and prev's turn stands.
// Otherwise a retry would find the message's own event id, answer it as a
// duplicate, and settle would take the loaded (late) state as the base.
//
// On ErrConflict from the save, the result is returned with the error,
// for that case.
func (e *Engine) turn(ctx context.Context, h *hold, m Message, u *undo, prev *undo) (Result, *Handoff, error) {
	if m.Time.IsZero() {
		m.Time = e.now()
	}
	now, key := m.Time, h.key
	mem, _ := e.store.(*MemoryStore) // exactly: a wrapper may block
	var (
		s, base *Session
		err     error
	)
	if mem != nil && !h.preloaded {
		t0 := time.Now()
		s, base, err = mem.loadTurn(ctx, key)
		e.obs.StoreOp("load", time.Since(t0), err)
		if err != nil {
			err = fmt.Errorf("load session: %w", err)
		}
	} else {
		s, err = h.load(ctx)
		if s != nil {
			base = cloneSession(s)
		}
	}
	corrupt := false
	if errors.Is(err, ErrCorrupt) {
		// One unreadable record must not trap its person forever: clear
		// it, say so, and start afresh.
		e.log.Error("a conversation's saved record was unreadable; starting it afresh", "conversation", LogKey(key), "err", err)
		dctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
		derr := e.store.Delete(dctx, key)
		cancel()
		if derr != nil {
			return Result{}, nil, fmt.Errorf("clear corrupt session: %w", derr)
		}
		s, err, corrupt = nil, nil, true
	}
	if err != nil {
		return Result{}, nil, err
	}
	if prev != nil && prev.turn != "" && s != nil && s.Turn == prev.turn {
		return Result{}, nil, errLanded
	}
	*u = undo{key: key, address: m.Address, at: now, base: base}
	if s == nil {
		s = &Session{Key: key, Address: m.Address, Started: now, Updated: now}
	}
	if s.SeenEvent(m.ID) {
		res := Result{Step: s.Step, GuideVersion: s.GuideVersion, Done: s.Done, Outcome: s.Outcome, Duplicate: true}
		if x, ok := s.unsent(m.ID); ok {
			// Saved, not yet confirmed posted: the redelivery may post it.
			res.Replies, res.Step, res.GuideVersion, res.Outbox = slices.Clone(x.Replies), x.Step, x.GuideVersion, x.ID
		}
		return res, nil, nil
	}

	var outcomes []Outcome
	switch {
	case s.HandedOff, s.Done && s.Outcome == OutcomeExpired:
		// The flow decides: quiet while staff have it, or the offer to
		// resume an expired conversation.
	case s.Done && e.afterEnd:
		// The flow decides: a short answer to a thank-you after the end,
		// or a new conversation.
	case s.Done:
		s.Reset(now)
	case s.Guide != "" && now.Sub(s.Updated) >= e.cfg.IdleTimeout:
		// Expired while no sweeper ran (or before it got there): record it
		// now, and let the flow offer to resume.
		o, err := e.expire(s, now)
		if err != nil {
			return Result{}, nil, err
		}
		outcomes = append(outcomes, o)
	}

	t, err := e.respond(s, m)
	if err != nil {
		return Result{}, nil, fmt.Errorf("flow %s at step %q: %w", s.Guide, s.Step, err)
	}
	if corrupt {
		t.Replies = append([]Reply{{Text: CorruptNotice}}, t.Replies...)
	}
	s.Updated = now
	s.Nudged = false
	s.RememberEvent(m.ID)
	s.Turn = newTurnID()
	u.turn = s.Turn
	var outbox string
	if _, keep := e.outboxes[m.Platform]; keep && len(t.Replies) > 0 {
		outbox = s.Turn
		e.addOutbox(s, OutboxEntry{ID: outbox, Event: m.ID, Replies: slices.Clone(t.Replies),
			Step: s.Step, GuideVersion: s.GuideVersion, Created: e.now()})
	}
	if outcomes == nil {
		outcomes = t.Outcomes // no copy: t is the turn's own
	} else {
		outcomes = append(outcomes, t.Outcomes...)
	}
	poster := e.posters[m.Platform]
	if t.Handoff != nil && poster != nil {
		h := *t.Handoff
		s.HandedOff, s.PendingHandoff = true, &h
	}
	e.schedule(s)

	if err := ctx.Err(); err != nil {
		// Past the turn's deadline before the save began: nothing was
		// written, so nothing needs taking back.
		return Result{}, nil, err
	}
	u.saving, u.outcomes = true, outcomes
	u.guide, u.step = s.Guide, s.Step
	var handoff *Handoff
	if s.PendingHandoff != nil && t.Handoff != nil {
		handoff = t.Handoff
	}
	res := Result{Replies: t.Replies, Step: s.Step, GuideVersion: s.GuideVersion, Done: s.Done, Outcome: s.Outcome, Outbox: outbox}
	if mem != nil && !h.leased() {
		// The store keeps s itself, not a copy: s is not touched again.
		t0 := time.Now()
		err = mem.saveOwned(ctx, s, outcomes)
		e.obs.StoreOp("save", time.Since(t0), nil)
		if err != nil && !errors.Is(err, ErrConflict) {
			err = fmt.Errorf("save session: %w", err)
		}
	} else {
		u.unlocking = h.leased() && h.saveReleases()
		err = h.save(ctx, s, outcomes)
	}
	if errors.Is(err, ErrConflict) {
		return res, handoff, err
	}
	if err != nil {
		return Result{}, nil, err
	}
	u.saved = true
	return res, handoff, nil
}

// errLanded is turn's signal that the previous attempt's save, refused
// with ErrConflict, had landed.
var errLanded = errors.New("the previous attempt's save landed")

// report tells the observer and the log about a turn that counts (saved,
// and Handle did not give up on it).
func (e *Engine) report(platform string, u *undo) {
	if !u.saved {
		return
	}
	// Starts are counted from the flow's start records, as the report
	// counts them: a restart also begins the session anew (Reset), but
	// it is the same conversation going on, recorded as OutcomeRestarted.
	for i := range u.outcomes {
		if o := &u.outcomes[i]; o.Kind == OutcomeStarted {
			e.obs.Started(platform, o.Guide)
		}
	}
	if e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.Debug("turn", "conversation", LogKey(u.key), "platform", platform, "guide", u.guide, "step", u.step)
	}
	e.ended(u.key, u.outcomes)
}

// respond runs the flow, turning a panic into an error: one bad guide or
// hostile message must not take down every conversation in the process.
// The session is then not saved, so nothing half-done persists.
func (e *Engine) respond(s *Session, m Message) (t Turn, err error) {
	err = e.guard(s, func() error {
		var ferr error
		t, ferr = e.flow.Respond(s, m)
		return ferr
	})
	return t, err
}

// guard runs fn, one call into the flow for s, and turns a panic into an
// error wrapping ErrFlowPanic, logged with its stack.
func (e *Engine) guard(s *Session, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("the flow panicked; nothing was changed", "conversation", LogKey(s.Key),
				"guide", s.Guide, "step", s.Step, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrFlowPanic, p)
		}
	}()
	return fn()
}

// ErrFlowPanic is wrapped by Handle's error when the flow panicked.
var ErrFlowPanic = errors.New("flow panicked")

// expire closes s as abandoned, keeping its place so that it can be
// resumed, and returns the outcome record.
func (e *Engine) expire(s *Session, now time.Time) (Outcome, error) {
	var o Outcome
	err := e.guard(s, func() error {
		o = e.flow.Outcome(s, OutcomeExpired, now)
		return nil
	})
	if err != nil {
		return o, err
	}
	s.Done, s.Outcome, s.Nudged = true, OutcomeExpired, false
	return o, nil
}

// ended reports saved outcomes to the observer and the log.
func (e *Engine) ended(key string, outcomes []Outcome) {
	for _, o := range outcomes {
		if o.Kind == OutcomeStarted || o.Kind == OutcomeResumed {
			// Records for the report, not endings: starts are observed
			// apart (Observer.Started), and a resumed expiry stays an
			// ending here, as it was when observed.
			continue
		}
		e.obs.Ended(o)
		// Checked first: the arguments cost allocations (and a hash) even
		// when the line is dropped.
		if e.log.Enabled(context.Background(), slog.LevelInfo) {
			e.log.Info("conversation ended", "conversation", LogKey(key), "platform", o.Platform,
				"guide", o.Guide, "outcome", o.Kind, "step", o.Step)
		}
	}
}
