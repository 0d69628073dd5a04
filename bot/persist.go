package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxConflictRetries bounds the load–apply–save loop when other writers
// keep winning the compare-and-swap; in one process the turn queue makes
// conflicts impossible, so this only matters with shared stores.
const maxConflictRetries = 16

// ErrBusy is returned when a conversation's session kept changing under the
// engine (other replicas writing) and no save succeeded.
var ErrBusy = errors.New("conversation is busy; try again")

// noCancel is the cancel function of a context used as it is.
func noCancel() {}

// storeCtx bounds one store call by StoreTimeout. A turn's context usually
// ends sooner (TurnTimeout 2s against StoreTimeout 5s): it is then used as
// it is, since a derived context would only cost allocations (a context, a
// timer, an entry in the parent's children) on every store call.
func (e *Engine) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= e.cfg.StoreTimeout {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, e.cfg.StoreTimeout)
}

// save writes s and outcomes within the store timeout. ErrConflict is
// returned unwrapped, for the caller to retry.
func (e *Engine) save(ctx context.Context, s *Session, outcomes []Outcome) error {
	return e.saveWith(ctx, "save", e.store.Save, s, outcomes)
}

// saveWith is save through fn (Store.Save or SaveUnlocker.SaveUnlock),
// reported to the observer as op.
func (e *Engine) saveWith(ctx context.Context, op string, fn func(context.Context, *Session, []Outcome) error, s *Session, outcomes []Outcome) error {
	sctx, cancel := e.storeCtx(ctx)
	defer cancel()
	t0 := time.Now()
	err := fn(sctx, s, outcomes)
	if errors.Is(err, ErrConflict) {
		e.obs.StoreOp(op, time.Since(t0), nil)
		return err
	}
	e.obs.StoreOp(op, time.Since(t0), err)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// hold is this process's hold on one conversation for a turn or an update:
// the in-process turn queue, then the lease on stores that have one. On a
// LeaseLoader the lease and the first load are one call (LockLoad); on a
// SaveUnlocker holding a lease, the final save releases it in the same
// call (SaveUnlock). A hold is used by one goroutine at a time.
type hold struct {
	e   *Engine
	key string
	// unlock releases the lease; nil when none is held (no Locker, or
	// SaveUnlock released it).
	unlock func()
	// pre is the session LockLoad read with the lease, to be returned by
	// the first load; preloaded says it was not used yet.
	pre       *Session
	preloaded bool
	// queued: the turn queue is held and must be released.
	queued bool
}

// take acquires the conversation: its place in the turn queue, then its
// lease. On error nothing is held.
func (h *hold) take(ctx context.Context) error {
	e := h.e
	if err := e.queue.acquire(ctx, h.key); err != nil {
		return err
	}
	h.queued = true
	if err := h.lease(ctx); err != nil {
		h.release()
		return err
	}
	return nil
}

// lease takes the lease on stores that have one, reading the session with
// it on a LeaseLoader.
func (h *hold) lease(ctx context.Context) error {
	e := h.e
	if ll, ok := e.store.(LeaseLoader); ok {
		lctx, cancel := e.storeCtx(ctx)
		t0 := time.Now()
		s, unlock, err := ll.LockLoad(lctx, h.key, e.cfg.LeaseTTL)
		cancel()
		switch {
		case err == nil:
			e.obs.StoreOp("lockload", time.Since(t0), nil)
			if unlock == nil {
				unlock = noCancel
			}
			h.unlock, h.pre, h.preloaded = unlock, s, true
			return nil
		case errors.Is(err, ErrCorrupt) && unlock != nil:
			// Leased, but the record is unreadable: the turn's own load
			// meets it again and clears it.
			e.obs.StoreOp("lockload", time.Since(t0), nil)
			h.unlock = unlock
			return nil
		case errors.Is(err, ErrCorrupt):
			// The store let the lease go with the error: lease with Lock
			// below, and let the turn's load clear the record.
			e.obs.StoreOp("lockload", time.Since(t0), nil)
		default:
			e.obs.StoreOp("lockload", time.Since(t0), err)
			return fmt.Errorf("lease conversation: %w", err)
		}
	}
	l, ok := e.store.(Locker)
	if !ok {
		if _, leases := e.store.(LeaseLoader); leases {
			return errors.New("lease conversation: its record is unreadable and the store cannot lease without reading it")
		}
		return nil
	}
	lctx, cancel := e.storeCtx(ctx)
	t0 := time.Now()
	unlock, err := l.Lock(lctx, h.key, e.cfg.LeaseTTL)
	e.obs.StoreOp("lock", time.Since(t0), err)
	cancel()
	if err != nil {
		return fmt.Errorf("lease conversation: %w", err)
	}
	h.unlock = unlock
	return nil
}

// saveReleases reports whether save will release the lease with the save.
func (h *hold) saveReleases() bool {
	_, ok := h.e.store.(SaveUnlocker)
	return h.unlock != nil && ok
}

// leased reports whether the hold still has a lease to release.
func (h *hold) leased() bool { return h.unlock != nil }

// unleash releases the lease, if one is still held, keeping the queue.
func (h *hold) unleash() {
	if h.unlock != nil {
		unlock := h.unlock
		h.unlock = nil
		unlock()
	}
}

// release lets the conversation go: the lease (if still held), then the
// queue. Safe to call more than once.
func (h *hold) release() {
	h.unleash()
	if h.queued {
		h.queued = false
		h.e.queue.release(h.key)
	}
}

// load returns the stored session, nil when there is none: the first time
// the one read with the lease (LockLoad), afterwards (a retry after a
// conflict) a fresh read.
func (h *hold) load(ctx context.Context) (*Session, error) {
	if h.preloaded {
		s := h.pre
		h.pre, h.preloaded = nil, false
		return s, nil
	}
	return h.e.load(ctx, h.key)
}

// save saves s as the final write of the hold: with a lease on a
// SaveUnlocker, the same call releases the lease (on success only; on any
// error the lease is kept for a retry). ErrConflict is returned unwrapped.
func (h *hold) save(ctx context.Context, s *Session, outcomes []Outcome) error {
	if h.unlock != nil {
		if su, ok := h.e.store.(SaveUnlocker); ok {
			err := h.e.saveWith(ctx, "saveunlock", su.SaveUnlock, s, outcomes)
			if err == nil {
				h.unlock = nil // released with the save
			}
			return err
		}
	}
	return h.e.save(ctx, s, outcomes)
}

// locked runs fn holding the conversation's turn slot (and lease, on shared
// stores), retrying it while the session changes underneath. fn loads and
// saves through h, so that the lease and the first load, and the last save
// and the release, are one store call each where the store allows.
func (e *Engine) locked(ctx context.Context, key string, fn func(h *hold) error) error {
	h := &hold{e: e, key: key}
	if err := h.take(ctx); err != nil {
		return err
	}
	defer h.release()
	for range maxConflictRetries {
		err := fn(h)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return ErrBusy
}

// load returns the stored session, nil when there is none.
func (e *Engine) load(ctx context.Context, key string) (*Session, error) {
	lctx, cancel := e.storeCtx(ctx)
	defer cancel()
	t0 := time.Now()
	s, err := e.store.Load(lctx, key)
	if errors.Is(err, ErrNotFound) {
		e.obs.StoreOp("load", time.Since(t0), nil)
		return nil, nil
	}
	e.obs.StoreOp("load", time.Since(t0), err)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	return s, nil
}
