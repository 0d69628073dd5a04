package discord

import (
	"sync"
	"sync/atomic"
	"time"
)

// deliveries runs gateway messages in the order they were read, per
// conversation, without a fixed pool: each conversation with work queued
// has one goroutine draining its queue, started on its first message and
// gone when the queue is empty, so conversations never wait behind each
// other. discordgo would otherwise run every event in its own goroutine,
// and two messages of one conversation read back to back raced for its
// lock (TestGatewayOrderPerConversation saw 99 of 100 conversations out
// of order).
//
// The messages taken and not finished are bounded by max: add waits for
// room when it is reached. add is called on the gateway's reading
// goroutine (Session.SyncEvents), so a full queue pauses reading rather
// than growing memory; Discord keeps the events meanwhile. Each such
// wait is counted (fullWaits).
type deliveries struct {
	mu     sync.Mutex
	room   *sync.Cond
	queues map[string][]func()
	n      int // taken and not finished
	max    int

	fullWaits atomic.Int64
}

func newDeliveries(max int) *deliveries {
	d := &deliveries{queues: make(map[string][]func()), max: max}
	d.room = sync.NewCond(&d.mu)
	return d
}

// add queues fn behind the earlier work of key, waiting first while max
// deliveries are taken. It reports whether it had to wait.
func (d *deliveries) add(key string, fn func()) (waited bool) {
	_, waited = d.addWithin(key, fn, 0)
	return waited
}

// addWithin is add that waits for room at most wait (0: as long as it
// takes); it reports whether fn was queued.
func (d *deliveries) addWithin(key string, fn func(), wait time.Duration) (queued, waited bool) {
	var stop time.Time
	if wait > 0 {
		stop = time.Now().Add(wait)
		// sync.Cond has no timeout: wake the waiters at the deadline.
		t := time.AfterFunc(wait, func() {
			d.mu.Lock()
			d.room.Broadcast()
			d.mu.Unlock()
		})
		defer t.Stop()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.n >= d.max {
		if !waited {
			d.fullWaits.Add(1)
			waited = true
		}
		if !stop.IsZero() && !time.Now().Before(stop) {
			return false, waited
		}
		d.room.Wait()
	}
	d.n++
	q, running := d.queues[key]
	d.queues[key] = append(q, fn)
	if !running {
		go d.drain(key)
	}
	return true, waited
}

// drain runs key's queue until it is empty, then forgets the key.
func (d *deliveries) drain(key string) {
	for {
		d.mu.Lock()
		q := d.queues[key]
		if len(q) == 0 {
			delete(d.queues, key)
			d.mu.Unlock()
			return
		}
		fn := q[0]
		q[0] = nil
		d.queues[key] = q[1:]
		d.mu.Unlock()
		fn()
		d.mu.Lock()
		d.n--
		d.room.Signal()
		d.mu.Unlock()
	}
}

// queued is how many deliveries are taken and not finished.
func (d *deliveries) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}
