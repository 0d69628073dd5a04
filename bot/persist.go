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

// save writes s and outcomes within the store timeout. ErrConflict is
// returned unwrapped, for the caller to retry.
func (e *Engine) save(ctx context.Context, s *Session, outcomes []Outcome) error {
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
	defer cancel()
	t0 := time.Now()
	err := e.store.Save(sctx, s, outcomes)
	if errors.Is(err, ErrConflict) {
		e.obs.StoreOp("save", time.Since(t0), nil)
		return err
	}
	e.obs.StoreOp("save", time.Since(t0), err)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// locked runs fn holding the conversation's turn slot (and lease, on shared
// stores), retrying it while the session changes underneath.
func (e *Engine) locked(ctx context.Context, key string, fn func() error) error {
	if err := e.queue.acquire(ctx, key); err != nil {
		return err
	}
	defer e.queue.release(key)
	if l, ok := e.store.(Locker); ok {
		lctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
		t0 := time.Now()
		unlock, err := l.Lock(lctx, key, e.cfg.LeaseTTL)
		e.obs.StoreOp("lock", time.Since(t0), err)
		cancel()
		if err != nil {
			return fmt.Errorf("lease conversation: %w", err)
		}
		defer unlock()
	}
	for range maxConflictRetries {
		err := fn()
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return ErrBusy
}

// load returns the stored session, nil when there is none.
func (e *Engine) load(ctx context.Context, key string) (*Session, error) {
	lctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
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
