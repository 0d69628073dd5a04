package bot

import (
	"context"
	"hash/maphash"
	"sync"
)

// turnQueue serialises work per conversation key in arrival order: a FIFO
// lock per key. sync.Mutex alone would not do, because it does not promise
// that waiters get the lock in the order they asked for it.
type turnQueue struct {
	seed   maphash.Seed
	shards [64]queueShard
}

type queueShard struct {
	mu    sync.Mutex
	lines map[string]*line
	// free holds lines of keys that went idle, for reuse: a line per
	// message would otherwise be an allocation per message.
	free []*line
}

// maxFreeLines bounds a shard's free lines.
const maxFreeLines = 16

// line is the queue of one key: the holder runs, waiters wait in order.
type line struct {
	waiting []chan struct{}
}

func newTurnQueue() *turnQueue {
	q := &turnQueue{seed: maphash.MakeSeed()}
	for i := range q.shards {
		q.shards[i].lines = make(map[string]*line)
	}
	return q
}

func (q *turnQueue) shard(key string) *queueShard {
	return &q.shards[maphash.String(q.seed, key)%uint64(len(q.shards))]
}

// acquire blocks until the caller holds key's turn or ctx ends. On success
// the caller must call release(key) exactly once.
func (q *turnQueue) acquire(ctx context.Context, key string) error {
	sh := q.shard(key)
	sh.mu.Lock()
	l, busy := sh.lines[key]
	if !busy {
		if n := len(sh.free); n > 0 {
			l, sh.free = sh.free[n-1], sh.free[:n-1]
		} else {
			l = &line{}
		}
		sh.lines[key] = l
		sh.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	l.waiting = append(l.waiting, turn)
	sh.mu.Unlock()

	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		sh.mu.Lock()
		for i, w := range l.waiting {
			if w == turn {
				l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
				sh.mu.Unlock()
				return ctx.Err()
			}
		}
		sh.mu.Unlock()
		// The turn was handed to us while we gave up: pass it on so the
		// line does not stall.
		q.release(key)
		return ctx.Err()
	}
}

// release hands key's turn to the next waiter in arrival order, or frees
// the key when nobody waits.
func (q *turnQueue) release(key string) {
	sh := q.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.lines[key]
	if l == nil {
		panic("bot: release of a conversation turn that is not held")
	}
	if len(l.waiting) == 0 {
		delete(sh.lines, key)
		if len(sh.free) < maxFreeLines {
			l.waiting = nil
			sh.free = append(sh.free, l)
		}
		return
	}
	next := l.waiting[0]
	l.waiting = l.waiting[1:]
	close(next)
}
