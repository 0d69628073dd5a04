package slack

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// How a delivery travels (acknowledged = answered):
//
//  1. accept dedupes it by its delivery id (event_id, trigger_id) in this
//     process, so that concurrent copies are handled once;
//  2. run handles it at once, under the conversation's lock (one turn of a
//     conversation at a time, in arrival order) and a deadline that fits
//     Slack's 3 seconds: the engine applies the message and saves the turn
//     with its replies (the session's outbox) before run returns;
//  3. only then is the delivery acknowledged (HTTP 200, or the Socket Mode
//     ack). A turn that failed or could not finish in time is refused
//     (HTTP 503, or no ack), so Slack delivers it again and the engine,
//     which dedupes by event id, applies it once;
//  4. the replies are posted afterwards from the conversation's post queue
//     (posts), in the order the turns were saved, and confirmed to the
//     engine (Delivered), which then drops them from the outbox. Replies a
//     crash or a deploy left unposted are posted by the engine's sweeper
//     through Send.

// delivery is a parsed platform delivery, ready to be run.
type delivery struct {
	id  string // dedupe id: event_id or trigger_id
	key string // lock key: deliveries with one key run one at a time, in order
	// final is set when the platform will not deliver it again (clicks,
	// slash commands, an event's last retries): a failed turn is then
	// answered with TroubleReply and acknowledged, instead of refused.
	final bool
	do    func(ctx context.Context)
}

// errNotRunning refuses deliveries while Run is not running or shutting
// down, so that Slack delivers them again (to another replica).
var errNotRunning = errors.New("slack adapter is not running or shutting down")

// errBusy refuses deliveries when too many are in progress.
var errBusy = errors.New("slack adapter is busy")

// errQueueFull refuses deliveries while max_queued_turns turns wait to be
// posted.
var errQueueFull = errors.New("slack adapter is busy: too many replies wait to be posted (slack.max_queued_turns)")

// accept dedupes d and runs it. It returns nil when the delivery may be
// acknowledged: its turn was saved (or there was nothing to save), or it
// is a copy of one already accepted; and an error when it must be refused
// so that Slack delivers it again.
func (a *Adapter) accept(ctx context.Context, d *delivery) error {
	if d == nil {
		return nil
	}
	// A copy arriving while an earlier one is still running waits for it:
	// acknowledging it as a duplicate and then refusing the earlier copy
	// would lose the delivery (Slack stops retrying after any 2xx).
	for range 4 {
		settle, settled := a.seen.claim(d.id)
		switch {
		case settle != nil:
			err := a.run(ctx, d)
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
	return errBusy
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

// run handles d now, holding its key's lock, within the acknowledgement
// budget, and returns nil once its turn is saved (or had nothing to save).
// It returns early, with nil, when the turn says it is saved while it
// still has work that waits on Slack (savedEarly: a handoff being posted):
// the rest runs on, still holding the lock, so the conversation's replies
// keep their order, but the ack does not wait for it.
func (a *Adapter) run(ctx context.Context, d *delivery) error {
	if !a.work.start() {
		return errNotRunning
	}
	// Room for the turn's posts is taken before the turn runs: at the
	// bound the delivery is refused at once (Slack delivers it again),
	// rather than acknowledged with replies nowhere to go.
	if !a.posts.admit() {
		a.work.done()
		a.queueFull()
		return errQueueFull
	}
	j := &job{key: d.key, final: d.final, saved: make(chan struct{})}
	j.room.Store(true)
	ctx, cancel := context.WithTimeout(ctx, a.ackBudget)
	cleanup := func() {
		if j.room.CompareAndSwap(true, false) {
			a.posts.unreserve()
		}
		cancel()
		a.work.done()
	}
	unlock, err := a.locks.lockCtx(ctx, d.key)
	if err != nil {
		cleanup()
		return err
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer cleanup()
		defer unlock()
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("slack delivery handler panicked", "panic", r)
			}
		}()
		d.do(context.WithValue(ctx, jobKey{}, j))
	}()
	select {
	case <-finished:
		if err := j.refused.Load(); err != nil {
			return *err
		}
	case <-j.saved:
	}
	a.work.turns.Add(1)
	return nil
}

// job is the state of one delivery being run.
type job struct {
	key     string
	final   bool
	refused atomic.Pointer[error]
	// room is true while the delivery's reserved place in the post
	// queues (admit) is unused.
	room atomic.Bool
	// saved is closed by savedEarly: the turn is saved, acknowledge it.
	saved     chan struct{}
	savedOnce sync.Once
}

// savedEarly tells the delivery ctx runs, if any, that its turn is saved
// and it may be acknowledged now, before the turn's remaining work (which
// waits on Slack) is done. It reports whether ctx runs a delivery: that
// delivery can then no longer be refused, and its context ends with the
// request, so the caller must detach what it still does.
func savedEarly(ctx context.Context) bool {
	j := jobOf(ctx)
	if j == nil {
		return false
	}
	j.savedOnce.Do(func() { close(j.saved) })
	return true
}

type jobKey struct{}

// jobOf returns the delivery ctx is running, or nil outside one (Send,
// tests calling a delivery's do directly).
func jobOf(ctx context.Context) *job {
	j, _ := ctx.Value(jobKey{}).(*job)
	return j
}

// refuse marks the delivery ctx runs as refused with err, unless it is
// final; it reports whether it did (the caller then says nothing: the
// delivery comes again).
func refuse(ctx context.Context, err error) bool {
	j := jobOf(ctx)
	if j == nil || j.final || isClosed(j.saved) {
		// Not a delivery, or one Slack will not send again (final, or
		// already acknowledged by savedEarly).
		return false
	}
	j.refused.Store(&err)
	return true
}

// later runs fn, posting for the conversation with key, after the running
// delivery is acknowledged: on key's post queue, behind the posts of the
// conversation's earlier turns. Outside a delivery it runs fn now. The
// delivery's first post uses the room it reserved when admitted; a second
// (rare: a note besides the turn's replies) goes beyond the bound, which
// is thus exceeded by at most the deliveries running at once.
func (a *Adapter) later(ctx context.Context, key string, fn func(ctx context.Context)) {
	j := jobOf(ctx)
	if j == nil {
		fn(ctx)
		return
	}
	a.posts.push(key, fn, j.room.CompareAndSwap(true, false))
}

// queueFull logs, at most every 10 seconds, that deliveries are refused
// because max_queued_turns turns wait to be posted.
func (a *Adapter) queueFull() {
	n := a.refusedFull.Add(1)
	now := time.Now().UnixNano()
	if last := a.lastFullLog.Load(); now-last > int64(10*time.Second) && a.lastFullLog.CompareAndSwap(last, now) {
		a.log.Warn("too many replies wait to be posted; refusing deliveries so that Slack delivers them again",
			"queued_turns", a.posts.waiting(), "max_queued_turns", a.cfg.MaxQueuedTurns, "refused_so_far", n)
	}
}

// keyedLocks serializes deliveries per key; waiters are served in arrival
// order (a channel's blocked senders are).
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

// lockCtx locks key, giving up when ctx is done first.
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

// postQueues posts for each conversation in order, one goroutine per
// conversation with something to post (no fixed pool: a conversation never
// waits behind another's posts). Safe for concurrent use.
type postQueues struct {
	mu      sync.Mutex
	q       map[string][]func(context.Context)
	pending int // queued or running, plus room reserved by admit
	peak    int // the most pending ever
	max     int
	wg      sync.WaitGroup
	// ctx is the posts' context, cancelled when the shutdown grace ends.
	ctx  context.Context
	stop context.CancelFunc
}

func newPostQueues(max int) *postQueues {
	ctx, stop := context.WithCancel(context.Background())
	return &postQueues{q: map[string][]func(context.Context){}, max: max, ctx: ctx, stop: stop}
}

// admit reserves room for one delivery's posts; false when max turns
// already wait (queued or posting).
func (p *postQueues) admit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending >= p.max {
		return false
	}
	p.pending++
	p.peak = max(p.peak, p.pending)
	return true
}

// unreserve gives back room admit reserved and push did not use.
func (p *postQueues) unreserve() {
	p.mu.Lock()
	p.pending--
	p.mu.Unlock()
}

// push queues fn behind key's earlier posts, in the room admit reserved
// when reserved is true.
func (p *postQueues) push(key string, fn func(context.Context), reserved bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !reserved {
		p.pending++
		p.peak = max(p.peak, p.pending)
	}
	if q, ok := p.q[key]; ok {
		p.q[key] = append(q, fn)
		return
	}
	p.q[key] = []func(context.Context){fn}
	p.wg.Add(1)
	go p.run(key)
}

func (p *postQueues) run(key string) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		q := p.q[key]
		if len(q) == 0 {
			delete(p.q, key)
			p.mu.Unlock()
			return
		}
		fn := q[0]
		q[0] = nil
		p.q[key] = q[1:]
		p.mu.Unlock()
		func() {
			ctx, cancel := context.WithTimeout(p.ctx, jobTimeout)
			defer cancel()
			defer func() { _ = recover() }()
			fn(ctx)
		}()
		p.mu.Lock()
		p.pending--
		p.mu.Unlock()
	}
}

// waiting is how many posts are queued or running (with the room
// reserved for turns running now).
func (p *postQueues) waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pending
}

// conversations is how many conversations have posts queued or running,
// and the peak of waiting.
func (p *postQueues) sizes() (conversations, peak int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.q), p.peak
}

// drain waits up to grace for every queued post, then cancels the rest
// (which fail at once) and waits for them to return.
func (p *postQueues) drain(grace time.Duration) bool {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		p.stop()
		<-done
		return false
	}
}

// tracker counts deliveries being run, so that shutdown can refuse new
// ones and wait for those in progress.
type tracker struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
	// turns counts deliveries run to completion (acknowledged).
	turns atomic.Int64
}

// start registers one delivery; false once shutdown began.
func (t *tracker) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *tracker) done() { t.wg.Done() }

// open allows deliveries (Run started).
func (t *tracker) open() {
	t.mu.Lock()
	t.closing = false
	t.mu.Unlock()
}

// close refuses new deliveries and waits for those in progress (each is
// bounded by the acknowledgement budget).
func (t *tracker) close() {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	t.wg.Wait()
}

// dedupe remembers delivery ids for a while; safe for concurrent use. An
// id is claimed by the first copy of a delivery, which then settles it:
// kept (acknowledged) or refused (forgotten, so that a later copy is
// taken). Copies arriving in between wait for that outcome instead of
// being acknowledged as duplicates of a copy that may still be refused.
type dedupe struct {
	mu   sync.Mutex
	ttl  time.Duration
	seen map[string]*seenEntry
	now  func() time.Time
	last time.Time
}

type seenEntry struct {
	at      time.Time
	settled chan struct{} // closed once the claiming copy was kept or refused
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
