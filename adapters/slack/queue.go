package slack

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"
)

// delivery is a parsed platform delivery, ready to be queued.
type delivery struct {
	id  string // dedupe id: event_id or trigger_id
	key string // worker key: conversations with one key are handled in order
	do  func(ctx context.Context)
}

// accept dedupes d and queues it. It returns nil for a duplicate (already
// accepted: acknowledge it and do nothing) and an error when the delivery
// could not be queued (refuse it so that Slack delivers it again).
func (a *Adapter) accept(ctx context.Context, d *delivery) error {
	if d == nil {
		return nil
	}
	// A copy arriving while an earlier one is still being queued waits
	// for it: acknowledging it as a duplicate and then refusing the
	// earlier copy would lose the delivery (Slack stops retrying after
	// any 2xx).
	for range 4 {
		settle, settled := a.seen.claim(d.id)
		switch {
		case settle != nil:
			err := a.enqueue(ctx, job{key: d.key, do: d.do})
			settle(err == nil)
			return err
		case isClosed(settled):
			a.log.Debug("duplicate delivery ignored", "id", d.id)
			return nil
		}
		// Pending: wait, then look again (kept: a duplicate; refused:
		// this copy claims it).
		select {
		case <-settled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errQueueFull
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// job is one delivery's work, run by the worker that owns its key.
type job struct {
	key string
	do  func(ctx context.Context)
}

// runWorkers starts one goroutine per shard; they stop when ctx is done.
func (a *Adapter) runWorkers(ctx context.Context, wg *sync.WaitGroup) {
	a.running.Store(true)
	for _, ch := range a.shards {
		wg.Go(func() {
			defer a.running.Store(false)
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-ch:
					a.runJob(ctx, j)
				}
			}
		})
	}
}

// runJob runs j with a bounded context that outlives a shutdown briefly, so
// that a turn the engine already saved still gets its replies posted.
func (a *Adapter) runJob(ctx context.Context, j job) {
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("slack delivery handler panicked", "panic", r)
		}
	}()
	j.do(jctx)
}

var errQueueFull = errors.New("slack adapter is busy or not running")

// enqueue hands j to the worker owning j.key, waiting briefly for room. It
// fails when the workers are not running or stay full, so that the caller
// can refuse the delivery and Slack retries it.
func (a *Adapter) enqueue(ctx context.Context, j job) error {
	if !a.running.Load() {
		return errQueueFull
	}
	h := fnv.New32a()
	h.Write([]byte(j.key))
	ch := a.shards[h.Sum32()%uint32(len(a.shards))]
	t := time.NewTimer(a.queueWait)
	defer t.Stop()
	select {
	case ch <- j:
		return nil
	case <-t.C:
		return errQueueFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dedupe remembers delivery ids for a while; safe for concurrent use. An
// id is claimed by the first copy of a delivery, which then settles it:
// queued (kept) or refused (forgotten, so that a later copy is taken).
// Copies arriving in between wait for that outcome instead of being
// acknowledged as duplicates of a copy that may still be refused.
type dedupe struct {
	mu   sync.Mutex
	ttl  time.Duration
	seen map[string]*seenEntry
	now  func() time.Time
	last time.Time
}

type seenEntry struct {
	at      time.Time
	settled chan struct{} // closed once the claiming copy was queued or refused
}

func newDedupe(ttl time.Duration) *dedupe {
	return &dedupe{ttl: ttl, seen: map[string]*seenEntry{}, now: time.Now}
}

// claim records id. For a new id it returns settle, which the caller must
// call once with whether the delivery was kept; otherwise it returns the
// channel closed when the claiming copy settles. "" is always new.
func (d *dedupe) claim(id string) (settle func(kept bool), settled <-chan struct{}) {
	if id == "" {
		return func(bool) {}, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.Sub(d.last) > d.ttl/4 {
		for k, e := range d.seen {
			if now.Sub(e.at) > d.ttl {
				delete(d.seen, k)
			}
		}
		d.last = now
	}
	if e, ok := d.seen[id]; ok && now.Sub(e.at) <= d.ttl {
		return nil, e.settled
	}
	e := &seenEntry{at: now, settled: make(chan struct{})}
	d.seen[id] = e
	return func(kept bool) {
		if !kept {
			d.mu.Lock()
			if d.seen[id] == e {
				delete(d.seen, id)
			}
			d.mu.Unlock()
		}
		close(e.settled)
	}, nil
}

// first records id and reports whether it was new, settling it as kept.
// "" is always new.
func (d *dedupe) first(id string) bool {
	settle, _ := d.claim(id)
	if settle == nil {
		return false
	}
	settle(true)
	return true
}

// forget removes id, for deliveries that were refused and will come again.
func (d *dedupe) forget(id string) {
	d.mu.Lock()
	delete(d.seen, id)
	d.mu.Unlock()
}
