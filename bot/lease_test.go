package bot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// leaseStore is a shared store stand-in that counts its calls: a
// MemoryStore (wrapped, so the engine takes its general path) with a lease
// per key, offering Lock always and LockLoad / SaveUnlock when asked to.
// It checks that every save happens under the engine's lease.
type leaseStore struct {
	mem *MemoryStore
	t   *testing.T

	mu     sync.Mutex
	calls  map[string]int
	leased map[string]bool
	// rival, when set, is run once before the next save or save-unlock
	// of its key: another replica's write landing first.
	rival func()
}

func newLeaseStore(t *testing.T) *leaseStore {
	return &leaseStore{mem: NewMemoryStore(), t: t, calls: map[string]int{}, leased: map[string]bool{}}
}

func (l *leaseStore) count(op string) {
	l.mu.Lock()
	l.calls[op]++
	l.mu.Unlock()
}

// took returns the calls since the last took, and forgets them.
func (l *leaseStore) took() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = map[string]int{}
	return c
}

func (l *leaseStore) isLeased(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leased[key]
}

func (l *leaseStore) takeLease(key string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leased[key] {
		return nil, errors.New("lease already held: the engine leased twice")
	}
	l.leased[key] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.count("unlock")
			l.mu.Lock()
			delete(l.leased, key)
			l.mu.Unlock()
		})
	}, nil
}

func (l *leaseStore) runRival() {
	l.mu.Lock()
	r := l.rival
	l.rival = nil
	l.mu.Unlock()
	if r != nil {
		r()
	}
}

func (l *leaseStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	l.count("lock")
	return l.takeLease(key)
}

func (l *leaseStore) Load(ctx context.Context, key string) (*Session, error) {
	l.count("load")
	return l.mem.Load(ctx, key)
}

func (l *leaseStore) Save(ctx context.Context, s *Session, o []Outcome) error {
	l.count("save")
	if !l.isLeased(s.Key) {
		l.t.Errorf("Save of %q without the lease", s.Key)
	}
	l.runRival()
	return l.mem.Save(ctx, s, o)
}

func (l *leaseStore) Delete(ctx context.Context, key string) error { return l.mem.Delete(ctx, key) }
func (l *leaseStore) Outcomes(ctx context.Context, since time.Time, fn func(Outcome) error) error {
	return l.mem.Outcomes(ctx, since, fn)
}
func (l *leaseStore) Due(ctx context.Context, now time.Time, fn func(string) error) error {
	return l.mem.Due(ctx, now, fn)
}
func (l *leaseStore) Close() error { return l.mem.Close() }

// oneTripStore is a leaseStore that also offers LockLoad and SaveUnlock.
type oneTripStore struct{ *leaseStore }

func (o oneTripStore) LockLoad(ctx context.Context, key string, ttl time.Duration) (*Session, func(), error) {
	o.count("lockload")
	unlock, err := o.takeLease(key)
	if err != nil {
		return nil, nil, err
	}
	s, err := o.mem.Load(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, unlock, nil
	case err != nil:
		unlock()
		return nil, nil, err
	}
	return s, unlock, nil
}

func (o oneTripStore) SaveUnlock(ctx context.Context, s *Session, outs []Outcome) error {
	o.count("saveunlock")
	if !o.isLeased(s.Key) {
		o.t.Errorf("SaveUnlock of %q without the lease", s.Key)
	}
	o.runRival()
	if err := o.mem.Save(ctx, s, outs); err != nil {
		return err // the lease is kept
	}
	o.mu.Lock()
	delete(o.leased, s.Key) // released with the save: unlock is a no-op
	o.mu.Unlock()
	return nil
}

var (
	_ LeaseLoader  = oneTripStore{}
	_ SaveUnlocker = oneTripStore{}
	_ Locker       = (*leaseStore)(nil)
)

// wantCalls fails t unless got has exactly the counts in want.
func wantCalls(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s: %d %s calls, want %d (all calls: %v)", what, got[op], op, n, got)
		}
	}
	for op, n := range got {
		if _, ok := want[op]; !ok && n > 0 {
			t.Errorf("%s: %d unexpected %s calls (all calls: %v)", what, n, op, got)
		}
	}
}

// TestLeaseLoaderOneCallEachWay: on a store with LockLoad and SaveUnlock,
// a message costs one of each (the lease and the load in one, the save
// and the release in one), the first attempt does not load again, and the
// lease is free when Handle returns.
func TestLeaseLoaderOneCallEachWay(t *testing.T) {
	st := oneTripStore{newLeaseStore(t)}
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	for i, text := range []string{"one", "two", "three"} {
		res, err := e.Handle(context.Background(), Message{Address: alice, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"count 1", "count 2", "count 3"}[i]; res.Replies[0].Text != want {
			t.Fatalf("message %d answered %q, want %q", i, res.Replies[0].Text, want)
		}
		wantCalls(t, "message "+text, st.took(), map[string]int{"lockload": 1, "saveunlock": 1})
		if st.isLeased(alice.Key()) {
			t.Fatalf("message %d: the lease is still held after Handle returned", i)
		}
	}
}

// TestLeaseLoaderConflictReloads: another replica's write lands between
// the engine's LockLoad and its SaveUnlock. The save is refused, the
// engine loads again (it must not reuse the LockLoad copy), applies the
// message to the rival's state, and releases the lease with the save that
// succeeds.
func TestLeaseLoaderConflictReloads(t *testing.T) {
	st := oneTripStore{newLeaseStore(t)}
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	send(context.Background(), t, e, alice, "one") // count 1
	st.took()
	st.rival = func() {
		s, err := st.mem.Load(context.Background(), alice.Key())
		if err != nil {
			t.Error(err)
			return
		}
		s.Answers["count"] = "10"
		if err := st.mem.Save(context.Background(), s, nil); err != nil {
			t.Error(err)
		}
	}
	res, err := e.Handle(context.Background(), Message{Address: alice, Text: "two"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replies[0].Text != "count 11" {
		t.Errorf("after the conflict the message was answered %q, want count 11 (applied to the rival's state)", res.Replies[0].Text)
	}
	wantCalls(t, "a message that met a conflict", st.took(), map[string]int{"lockload": 1, "load": 1, "saveunlock": 2})
	if st.isLeased(alice.Key()) {
		t.Error("the lease is still held after Handle returned")
	}
	s, err := st.mem.Load(context.Background(), alice.Key())
	if err != nil || s.Answers["count"] != "11" {
		t.Errorf("stored count %v (%v), want 11", s.Answers["count"], err)
	}
}

// TestLockerOnlyUnchanged: a store with only Lock keeps the four calls
// (lock, load, save, unlock), in that order of holding.
func TestLockerOnlyUnchanged(t *testing.T) {
	st := newLeaseStore(t)
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	for _, text := range []string{"one", "two"} {
		send(context.Background(), t, e, alice, text)
		wantCalls(t, "message "+text, st.took(), map[string]int{"lock": 1, "load": 1, "save": 1, "unlock": 1})
		if st.isLeased(alice.Key()) {
			t.Fatal("the lease is still held after Handle returned")
		}
	}
	// A conflict: lock once, load twice, save twice, unlock once.
	st.rival = func() {
		s, _ := st.mem.Load(context.Background(), alice.Key())
		if err := st.mem.Save(context.Background(), s, nil); err != nil {
			t.Error(err)
		}
	}
	send(context.Background(), t, e, alice, "three")
	wantCalls(t, "a message that met a conflict", st.took(), map[string]int{"lock": 1, "load": 2, "save": 2, "unlock": 1})
}

// TestDeliveredOneCallEachWay: confirming an outbox entry goes through the
// same hold as a turn: one LockLoad and one SaveUnlock.
func TestDeliveredOneCallEachWay(t *testing.T) {
	st := oneTripStore{newLeaseStore(t)}
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	e.KeepOutbox("test", 30*time.Second)
	ctx := context.Background()
	res, err := e.Handle(ctx, Message{Address: alice, ID: "e1", Text: "one"})
	if err != nil || res.Outbox == "" {
		t.Fatalf("Handle = %+v, %v; want an outbox entry", res, err)
	}
	st.took()
	if err := e.Delivered(ctx, alice, res.Outbox); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, "Delivered", st.took(), map[string]int{"lockload": 1, "saveunlock": 1})
	s, err := st.mem.Load(ctx, alice.Key())
	if err != nil || len(s.Outbox) != 0 {
		t.Fatalf("outbox after Delivered: %+v (%v), want empty", s.Outbox, err)
	}
	// Already gone: the lease and the read, and a plain release.
	if err := e.Delivered(ctx, alice, res.Outbox); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, "Delivered of a gone entry", st.took(), map[string]int{"lockload": 1, "unlock": 1})
	if st.isLeased(alice.Key()) {
		t.Error("the lease is still held after Delivered returned")
	}
}

// TestLeaseLoaderCorruptRecord: a record LockLoad cannot read is cleared
// and the conversation starts afresh, as with Load; the store released
// the lease with the error, so the engine leases with Lock.
func TestLeaseLoaderCorruptRecord(t *testing.T) {
	st := corruptOnce{oneTripStore{newLeaseStore(t)}, &sync.Once{}}
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	res, err := e.Handle(context.Background(), Message{Address: alice, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Replies) < 2 || res.Replies[0].Text != CorruptNotice || res.Replies[1].Text != "count 1" {
		t.Errorf("replies %+v, want the corrupt notice, then count 1", res.Replies)
	}
	if st.isLeased(alice.Key()) {
		t.Error("the lease is still held after Handle returned")
	}
}

// corruptOnce is a oneTripStore whose first LockLoad and first Load meet
// an unreadable record.
type corruptOnce struct {
	oneTripStore
	once *sync.Once
}

func (c corruptOnce) LockLoad(ctx context.Context, key string, ttl time.Duration) (*Session, func(), error) {
	c.count("lockload")
	return nil, nil, ErrCorrupt
}

func (c corruptOnce) Load(ctx context.Context, key string) (*Session, error) {
	corrupt := false
	c.once.Do(func() { corrupt = true })
	if corrupt {
		return nil, ErrCorrupt
	}
	return c.oneTripStore.Load(ctx, key)
}

// wireOneTrip is a oneTripStore whose armed SaveUnlock goes "on the wire"
// as wireStore's Save does: it never answers in time, and lands (saving
// and releasing the lease, in one step) when land is closed; Loads and
// LockLoads wait for open from then on.
type wireOneTrip struct {
	oneTripStore
	w *wireStore // only its channels and flags are used
}

func (o wireOneTrip) SaveUnlock(ctx context.Context, s *Session, outs []Outcome) error {
	if !o.w.armed.CompareAndSwap(true, false) {
		return o.oneTripStore.SaveUnlock(ctx, s, outs)
	}
	o.w.blocked.Store(true)
	c := cloneSession(s)
	go func() {
		<-o.w.land
		o.w.landed <- o.oneTripStore.SaveUnlock(context.Background(), c, outs)
	}()
	<-ctx.Done()
	return ctx.Err()
}

func (o wireOneTrip) wait(ctx context.Context) error {
	if o.w.blocked.Load() {
		select {
		case <-o.w.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (o wireOneTrip) Load(ctx context.Context, key string) (*Session, error) {
	if err := o.wait(ctx); err != nil {
		return nil, err
	}
	return o.oneTripStore.Load(ctx, key)
}

func (o wireOneTrip) LockLoad(ctx context.Context, key string, ttl time.Duration) (*Session, func(), error) {
	if err := o.wait(ctx); err != nil {
		return nil, nil, err
	}
	return o.oneTripStore.LockLoad(ctx, key, ttl)
}

// TestLateSaveUnlockIsTakenBackUnderANewLease: a SaveUnlock that lands
// after Handle gave up has released the lease with it. settle must lease
// the conversation again before taking the save back (so that no other
// replica builds on the late state meanwhile), then let it go; the
// re-send is applied once, to the state before the failed turn.
func TestLateSaveUnlockIsTakenBackUnderANewLease(t *testing.T) {
	const timeout = 100 * time.Millisecond
	st := wireOneTrip{oneTripStore{newLeaseStore(t)}, newWireStore()}
	e := NewEngine(st, &countingFlow{}, EngineConfig{TurnTimeout: timeout}, nil)
	send(context.Background(), t, e, alice, "one") // count 1
	st.w.armed.Store(true)
	if _, err := e.Handle(context.Background(), Message{Address: alice, ID: "e2", Text: "two"}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("stalled save: %v, want ErrTimeout", err)
	}
	st.took()
	close(st.w.land)
	if err := <-st.w.landed; err != nil {
		t.Fatalf("the late save did not land (%v): the test needs it to", err)
	}
	close(st.w.open)
	res, err := e.Handle(context.Background(), Message{Address: alice, ID: "e3", Text: "two again"})
	if err != nil || res.Replies[0].Text != "count 2" {
		t.Fatalf("re-send: %+v, %v; want count 2 (the failed turn must not count)", res, err)
	}
	calls := st.took()
	// The late SaveUnlock itself; settle: a load that finds it landed, a
	// LockLoad to lease again (and look again), the save back, its
	// release, and the turn's release of its first lease (which the store
	// ignores: gone with the save); then the re-send's own LockLoad and
	// SaveUnlock.
	wantCalls(t, "settle and the re-send", calls, map[string]int{"load": 1, "lockload": 2, "save": 1, "unlock": 2, "saveunlock": 2})
	if st.isLeased(alice.Key()) {
		t.Error("the lease is still held at the end")
	}
}

// resendStore is a leaseStore whose armed Save lands and then answers
// ErrConflict, as a pipeline re-sent after a network error does (the first
// copy lands, the second meets its own write); with stall, the next Load
// then waits for its context's end once (the turn's deadline passes while
// the engine looks again).
type resendStore struct {
	*leaseStore
	armed, stall atomic.Bool
}

func (r *resendStore) Save(ctx context.Context, s *Session, o []Outcome) error {
	if !r.armed.CompareAndSwap(true, false) {
		return r.leaseStore.Save(ctx, s, o)
	}
	c := cloneSession(s)
	if err := r.mem.Save(ctx, c, o); err != nil {
		return err
	}
	return ErrConflict // the re-sent copy's answer; s is unchanged
}

func (r *resendStore) Load(ctx context.Context, key string) (*Session, error) {
	if r.stall.CompareAndSwap(true, false) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return r.leaseStore.Load(ctx, key)
}

// TestConflictFromOwnLandedSave: a save answered with ErrConflict that had
// in fact landed (a re-sent write meeting itself) is the turn: the
// message is answered, once, not taken for a duplicate of itself.
func TestConflictFromOwnLandedSave(t *testing.T) {
	st := &resendStore{leaseStore: newLeaseStore(t)}
	e := NewEngine(st, &countingFlow{}, EngineConfig{}, nil)
	send(context.Background(), t, e, alice, "one")
	st.armed.Store(true)
	res, err := e.Handle(context.Background(), Message{Address: alice, ID: "e2", Text: "two"})
	if err != nil || res.Duplicate || len(res.Replies) == 0 || res.Replies[0].Text != "count 2" {
		t.Fatalf("Handle = %+v, %v; want count 2, not a duplicate", res, err)
	}
	if s, _ := st.mem.Load(context.Background(), alice.Key()); s.Answers["count"] != "2" {
		t.Errorf("stored count %q, want 2 (applied once)", s.Answers["count"])
	}
}

// TestConflictThenDeadlineSettles: after such a save, the turn's deadline
// passes while the engine loads again, so the person is told it failed.
// The landed save must be taken back, so that the re-send applies once.
func TestConflictThenDeadlineSettles(t *testing.T) {
	st := &resendStore{leaseStore: newLeaseStore(t)}
	e := NewEngine(st, &countingFlow{}, EngineConfig{TurnTimeout: 100 * time.Millisecond}, nil)
	send(context.Background(), t, e, alice, "one")
	st.armed.Store(true)
	st.stall.Store(true)
	if _, err := e.Handle(context.Background(), Message{Address: alice, ID: "e2", Text: "two"}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Handle = %v; want ErrTimeout", err)
	}
	res, err := e.Handle(context.Background(), Message{Address: alice, ID: "e3", Text: "two again"})
	if err != nil || res.Replies[0].Text != "count 2" {
		t.Fatalf("re-send: %+v, %v; want count 2 (the failed turn must not count)", res, err)
	}
}
