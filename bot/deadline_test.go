package bot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wireStore stands for a store across a network that stalls: when armed,
// the next Save is "on the wire": it never answers in time (it returns at
// its context's end), yet reaches the store later, when land is closed, as
// a command buffered in a stopped Redis does. From the stalled Save on,
// Loads wait for open (or their context) until it is closed.
type wireStore struct {
	*MemoryStore
	armed      atomic.Bool
	land, open chan struct{}
	landed     chan error // the late Save's result
	blocked    atomic.Bool
}

func newWireStore() *wireStore {
	return &wireStore{MemoryStore: NewMemoryStore(), land: make(chan struct{}), open: make(chan struct{}), landed: make(chan error, 1)}
}

func (w *wireStore) Save(ctx context.Context, s *Session, o []Outcome) error {
	if !w.armed.CompareAndSwap(true, false) {
		return w.MemoryStore.Save(ctx, s, o)
	}
	w.blocked.Store(true)
	c := cloneSession(s)
	go func() {
		<-w.land
		w.landed <- w.MemoryStore.Save(context.Background(), c, o)
	}()
	<-ctx.Done()
	return ctx.Err()
}

func (w *wireStore) Load(ctx context.Context, key string) (*Session, error) {
	if w.blocked.Load() {
		select {
		case <-w.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return w.MemoryStore.Load(ctx, key)
}

// timedHandle is Handle, also returning how long it took.
func timedHandle(e *Engine, m Message) (Result, error, time.Duration) {
	t0 := time.Now()
	res, err := e.Handle(context.Background(), m)
	return res, err, time.Since(t0)
}

// TestTimedOutSaveThatLandsLateIsTakenBack: the person is told the turn
// failed at the deadline; the save reaches the store afterwards (Redis
// continued). The turn must not count: the re-send is applied to the state
// before it, once, and a redelivery of the failed event is applied too.
func TestTimedOutSaveThatLandsLateIsTakenBack(t *testing.T) {
	const timeout = 100 * time.Millisecond
	w := newWireStore()
	flow := &countingFlow{}
	e := NewEngine(w, flow, EngineConfig{TurnTimeout: timeout}, nil)
	send(context.Background(), t, e, alice, "one") // count 1, saved
	w.armed.Store(true)
	_, err, took := timedHandle(e, Message{Address: alice, ID: "e2", Text: "two"})
	if !errors.Is(err, ErrTimeout) || took > timeout+100*time.Millisecond {
		t.Fatalf("stalled save: err %v after %v; want ErrTimeout within %v", err, took, timeout)
	}
	close(w.land) // the stalled save reaches the store now
	if err := <-w.landed; err != nil {
		t.Fatalf("the late save did not land (%v): the test needs it to", err)
	}
	close(w.open) // and the store answers again
	// The person re-sends (a new event), and the platform redelivers the
	// failed one: both are applied, once each, after the first message.
	res, err := e.Handle(context.Background(), Message{Address: alice, ID: "e3", Text: "two again"})
	if err != nil || res.Replies[0].Text != "count 2" {
		t.Fatalf("re-send: %+v, %v; want count 2 (the failed turn must not count)", res, err)
	}
	res, err = e.Handle(context.Background(), Message{Address: alice, ID: "e2", Text: "two"})
	if err != nil || res.Duplicate || res.Replies[0].Text != "count 3" {
		t.Errorf("redelivery of the failed event: %+v, %v; want it applied (count 3)", res, err)
	}
}

// TestTimedOutSaveIsFencedBeforeItLands: the store answers again before the
// stalled save reaches it; the save must then fail its compare-and-swap.
func TestTimedOutSaveIsFencedBeforeItLands(t *testing.T) {
	const timeout = 100 * time.Millisecond
	w := newWireStore()
	e := NewEngine(w, &countingFlow{}, EngineConfig{TurnTimeout: timeout}, nil)
	send(context.Background(), t, e, alice, "one")
	w.armed.Store(true)
	if _, err, _ := timedHandle(e, Message{Address: alice, ID: "e2", Text: "two"}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	close(w.open)
	// The re-send queues behind the fence, so its answer proves the fence
	// was written.
	res, err := e.Handle(context.Background(), Message{Address: alice, ID: "e3", Text: "two again"})
	if err != nil || res.Replies[0].Text != "count 2" {
		t.Fatalf("re-send: %+v, %v; want count 2", res, err)
	}
	close(w.land)
	if err := <-w.landed; !errors.Is(err, ErrConflict) {
		t.Errorf("the late save returned %v; want ErrConflict (fenced)", err)
	}
	if s, _ := w.MemoryStore.Load(context.Background(), alice.Key()); s.Answers["count"] != "2" {
		t.Errorf("count %s after the late save; want 2", s.Answers["count"])
	}
}

// TestTurnDeadlineCoversTheQueue: a turn stuck behind a slow one is
// abandoned at its own deadline without running, and a turn that passed
// its deadline before saving writes nothing.
func TestTurnDeadlineCoversTheQueue(t *testing.T) {
	const timeout = 100 * time.Millisecond
	flow := &countingFlow{delay: 3 * timeout}
	store := NewMemoryStore()
	e := NewEngine(store, flow, EngineConfig{TurnTimeout: timeout}, nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	took := make([]time.Duration, 2)
	for i, text := range []string{"slow", "queued"} {
		wg.Go(func() {
			_, errs[i], took[i] = timedHandle(e, Message{Address: alice, Text: text})
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	for i := range errs {
		if !errors.Is(errs[i], ErrTimeout) || took[i] > timeout+100*time.Millisecond {
			t.Errorf("message %d: %v after %v; want ErrTimeout within %v", i, errs[i], took[i], timeout)
		}
	}
	time.Sleep(4 * timeout) // the slow flow returns; its turn is past its deadline
	if n := flow.calls.Load(); n != 1 {
		t.Errorf("the flow ran %d times; want 1 (the queued turn must not start after its deadline)", n)
	}
	if _, err := store.Load(context.Background(), alice.Key()); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session was saved by abandoned turns (%v)", err)
	}
}
