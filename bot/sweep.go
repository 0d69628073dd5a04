package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Notices the sweeper sends.
const (
	// NudgeNotice is sent once to a person who went quiet mid-way.
	NudgeNotice = "Still there? Answer the question above to continue, or say **stop** to end."
	// ExpiredNoticeFormat is sent when a quiet conversation is closed; %s
	// is the idle time ("24 hours").
	ExpiredNoticeFormat = "I've closed this conversation, since it has been more than %s without an answer. Send me a message any time: you can pick up where we stopped or start over."
)

// SweepStats counts what one sweep did.
type SweepStats struct {
	Nudged   int // reminders sent (or due, where no sender exists)
	Expired  int // conversations closed as abandoned
	Handoffs int // pending handoffs posted (after a crash or outage)
	Released int // handoffs staff never closed, released after HandoffTimeout
	Posted   int // outbox entries posted because the adapter never confirmed them
	Failed   int // sessions that could not be handled this time
}

// Sweep handles every session whose timer is due at the engine's clock:
// it nudges a person who went quiet (once) and closes, as expired, a
// conversation idle past IdleTimeout; and it posts outbox entries left
// unconfirmed (KeepOutbox). Timers live in the store (Session.Due),
// so they survive restarts; each change is a compare-and-swap saved before
// its notice is sent, so with several replicas sweeping, each notice goes
// out once. A session that fails is counted and left for the next sweep;
// the returned error is only for a failure to list due sessions.
func (e *Engine) Sweep(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	now := e.now()
	var keys []string
	lctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
	err := e.store.Due(lctx, now, func(key string) error {
		keys = append(keys, key)
		if len(keys) >= maxSweepBatch {
			return errSweepBatchFull
		}
		return nil
	})
	cancel()
	if err != nil && !errors.Is(err, errSweepBatchFull) {
		return st, fmt.Errorf("list due sessions: %w", err)
	}
	// Sessions are independent (each change is its own compare-and-swap),
	// so they are swept sweepParallel at a time: posting a backlog left
	// by a crash one platform round trip after another took tens of
	// seconds (400 replies at 50-300 ms each).
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, sweepParallel)
	)
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var one SweepStats
			err := e.sweepOne(ctx, key, now, &one)
			if err != nil {
				one.Failed++
				e.log.Warn("sweeping a conversation failed; retrying next sweep", "conversation", LogKey(key), "err", err)
			}
			mu.Lock()
			st.add(one)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return st, nil
}

// sweepParallel bounds the sessions one sweep handles at once.
const sweepParallel = 16

// add adds o's counts to st.
func (st *SweepStats) add(o SweepStats) {
	st.Nudged += o.Nudged
	st.Expired += o.Expired
	st.Handoffs += o.Handoffs
	st.Released += o.Released
	st.Posted += o.Posted
	st.Failed += o.Failed
}

// maxSweepBatch bounds the sessions one sweep handles, so that a backlog
// (after downtime) is worked off in bounded steps.
const maxSweepBatch = 1000

var errSweepBatchFull = errors.New("sweep batch full")

// sweepOne applies the due timer of one session and sends its notice.
func (e *Engine) sweepOne(ctx context.Context, key string, now time.Time, st *SweepStats) error {
	var (
		notice  string
		kind    string
		to      Address
		handoff *Handoff
		taken   []OutboxEntry
	)
	err := e.locked(ctx, key, func(h *hold) error {
		notice, kind, handoff, taken = "", "", nil, nil
		s, err := h.load(ctx)
		if err == nil && s == nil {
			// The store forgot the session (TTL) but not its timer.
			dctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
			defer cancel()
			return e.store.Delete(dctx, key)
		}
		if err != nil || s.Due.IsZero() || s.Due.After(now) {
			// Gone, or another replica already handled it.
			return err
		}
		to = s.Address
		var outcomes []Outcome
		// Unconfirmed replies first: claimed here (Attempted, saved in
		// this CAS, so one replica wins), posted after the lock.
		taken = e.takeOutbox(s, now)
		idle := now.Sub(s.Updated)
		timer := s.timer()
		switch {
		case timer.IsZero() || timer.After(now):
			// Only the outbox was due.
		case s.PendingHandoff != nil && now.Sub(s.PendingHandoff.At) >= handoffGiveUp:
			// Staff could not be reached for an hour: say so, and answer
			// the person again.
			s.HandedOff, s.PendingHandoff = false, nil
			kind, notice = "handoff_failed", HandoffFailedNotice
		case s.PendingHandoff != nil:
			// Escalated, saved, never posted (a crash, or the support
			// channel was down): claim it (schedule moves Due on, so
			// other replicas leave it) and post it after the lock.
			h := *s.PendingHandoff
			handoff = &h
		case s.HandedOff && e.cfg.HandoffTimeout > 0 && idle >= e.cfg.HandoffTimeout:
			s.HandedOff = false
			kind = "released"
		case s.Done || s.Guide == "":
			// Nothing pending: just clear the timer.
		case idle >= e.cfg.IdleTimeout:
			o, err := e.expire(s, now)
			if err != nil {
				return err
			}
			outcomes = append(outcomes, o)
			kind, notice = "expired", fmt.Sprintf(ExpiredNoticeFormat, humanDuration(e.cfg.IdleTimeout))
		case !s.Nudged && e.cfg.NudgeAfter > 0 && idle >= e.cfg.NudgeAfter:
			s.Nudged = true
			kind, notice = "nudge", NudgeNotice
		}
		e.schedule(s)
		if err := h.save(ctx, s, outcomes); err != nil {
			return err
		}
		e.ended(key, outcomes)
		return nil
	})
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		st.Posted += e.postOutbox(ctx, key, to, taken)
	}
	if handoff != nil {
		if err := e.postHandoff(ctx, *handoff, 1, handoffSweepTimeout); err != nil {
			return err // tried again next time Due comes round
		}
		st.Handoffs++
		return nil
	}
	switch kind {
	case "expired":
		st.Expired++
	case "nudge":
		st.Nudged++
	case "released":
		st.Released++
		e.log.Info("handoff released after the handoff timeout", "conversation", LogKey(key), "platform", to.Platform)
	}
	if notice == "" {
		return nil
	}
	sender := e.senders[to.Platform]
	if sender == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
	defer cancel()
	serr := sender.Send(sctx, to, []Reply{{Text: notice, Done: kind == "expired"}})
	e.obs.Notified(to.Platform, kind, serr)
	if serr != nil {
		// The timer already fired (saved); a notice is not worth a second
		// message later, out of context.
		e.log.Warn("sending a notice failed", "conversation", LogKey(key), "kind", kind, "err", serr)
	}
	return nil
}

// RunSweeper sweeps every SweepEvery until ctx ends. Run one per process;
// replicas may all run one.
func (e *Engine) RunSweeper(ctx context.Context) {
	tick := time.NewTicker(e.cfg.SweepEvery)
	defer tick.Stop()
	for {
		if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("sweep failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// schedule sets s.Due to the next time the sweeper must look at s: its
// timer (nudge, expiry, handoff), or sooner when an outbox entry is due
// (the timer is then kept in s.Timer).
func (e *Engine) schedule(s *Session) {
	timer := e.timerDue(s)
	s.Due, s.Timer = timer, time.Time{}
	if len(s.Outbox) == 0 {
		return
	}
	s.Timer = timer
	if d := e.outboxDue(s); timer.IsZero() || d.Before(timer) {
		s.Due = d
	}
}

// timerDue is when the sweeper must next look at s for its timer.
func (e *Engine) timerDue(s *Session) time.Time {
	switch {
	case s.PendingHandoff != nil:
		return e.now().Add(handoffRetryAfter)
	case s.HandedOff && e.cfg.HandoffTimeout > 0:
		return s.Updated.Add(e.cfg.HandoffTimeout)
	case s.Done || s.Guide == "":
		return time.Time{}
	case !s.Nudged && e.cfg.NudgeAfter > 0:
		return s.Updated.Add(e.cfg.NudgeAfter)
	default:
		return s.Updated.Add(e.cfg.IdleTimeout)
	}
}

// humanDuration renders whole hours or minutes for people ("24 hours").
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	default:
		return d.String()
	}
}
