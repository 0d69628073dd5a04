package discord

import (
	"context"
	"sync"
	"time"
)

// keyedLocks serializes work per conversation key: a turn's replies are
// sent before the next turn of the same conversation starts.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	unlock, _ = k.lockCtx(context.Background(), key)
	return unlock
}

// lockCtx is lock that gives up when ctx is done first.
func (k *keyedLocks) lockCtx(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedLock)
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// tracker counts in-flight work so shutdown can wait for it.
type tracker struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
	n       int // in flight
}

// start registers one piece of work; false once shutdown began.
func (t *tracker) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.wg.Add(1)
	t.n++
	return true
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	t.mu.Unlock()
	t.wg.Done()
}

// active is how much work is in flight.
func (t *tracker) active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// reopen allows work again (a later Run after a shutdown).
func (t *tracker) reopen() {
	t.mu.Lock()
	t.closing = false
	t.mu.Unlock()
}

// shutdown refuses new work and waits up to d for work in flight.
func (t *tracker) shutdown(d time.Duration) bool {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	ch := make(chan struct{})
	go func() { t.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
