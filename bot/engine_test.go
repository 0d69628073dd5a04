package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingFlow is a minimal real Flow: every message increments a counter
// answer; "end" ends the conversation. It records how many turns ran at once.
type countingFlow struct {
	inFlight, maxInFlight atomic.Int32
	calls                 atomic.Int32
	delay                 time.Duration
	mu                    sync.Mutex
	order                 []string
}

func (f *countingFlow) Respond(s *Session, m Message) (Turn, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		old := f.maxInFlight.Load()
		if n <= old || f.maxInFlight.CompareAndSwap(old, n) {
			break
		}
	}
	f.calls.Add(1)
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	f.mu.Lock()
	f.order = append(f.order, m.Text)
	f.mu.Unlock()
	switch {
	case s.HandedOff && m.Text != "restart":
		return Turn{}, nil
	case s.HandedOff:
		s.Reset(m.Time)
	case s.Done && s.Outcome == OutcomeExpired && m.Text == "resume":
		s.Done, s.Outcome = false, ""
	case s.Done && s.Outcome == OutcomeExpired:
		return Turn{Replies: []Reply{{Text: "resume or start over?"}}}, nil
	}
	if s.Guide == "" {
		s.Guide, s.GuideVersion, s.Step = "g", "1", "count"
	}
	count := 0
	fmt.Sscan(s.Answers["count"], &count)
	s.SetAnswer(s.Step, "count", fmt.Sprint(count+1))
	if m.Text == "end" {
		s.Done, s.Outcome = true, OutcomeResolved
		return Turn{Replies: []Reply{{Text: "bye", Done: true}}, Outcomes: []Outcome{f.Outcome(s, OutcomeResolved, m.Time)}}, nil
	}
	if m.Text == "escalate" {
		s.Done, s.Outcome = true, OutcomeEscalated
		return Turn{
			Replies:  []Reply{{Text: "summary", Done: true}},
			Outcomes: []Outcome{f.Outcome(s, OutcomeEscalated, m.Time)},
			Handoff:  &Handoff{Key: s.Key, Address: s.Address, Guide: s.Guide, Summary: "count " + s.Answers["count"], Started: s.Started, At: m.Time},
		}, nil
	}
	return Turn{Replies: []Reply{{Text: fmt.Sprintf("count %d", count+1)}}}, nil
}

func (f *countingFlow) Current(s *Session) ([]Reply, error) {
	return []Reply{{Text: "current " + s.Step}}, nil
}

func (f *countingFlow) Outcome(s *Session, kind string, at time.Time) Outcome {
	return Outcome{Key: s.Key, Guide: s.Guide, Kind: kind, Step: s.Step, Started: s.Started, Ended: at}
}

var alice = Address{Platform: "test", Channel: "c", User: "alice"}

func TestConcurrentMessagesOneConversationRunOneAtATime(t *testing.T) {
	flow := &countingFlow{delay: time.Millisecond}
	store := NewMemoryStore()
	e := NewEngine(store, flow, EngineConfig{}, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Handle(context.Background(), Message{Address: alice, ID: fmt.Sprint("ev", i), Text: "hi"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := flow.maxInFlight.Load(); got != 1 {
		t.Errorf("turns of one conversation overlapped: %d ran at once", got)
	}
	s, err := store.Load(context.Background(), alice.Key())
	if err != nil {
		t.Fatal(err)
	}
	if s.Answers["count"] != fmt.Sprint(n) {
		t.Errorf("count = %s after %d messages; updates were lost", s.Answers["count"], n)
	}
}

func TestDifferentConversationsRunInParallel(t *testing.T) {
	flow := &countingFlow{delay: 20 * time.Millisecond}
	e := NewEngine(NewMemoryStore(), flow, EngineConfig{}, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := alice
			a.User = fmt.Sprint("user", i)
			if _, err := e.Handle(context.Background(), Message{Address: a, Text: "hi"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := flow.maxInFlight.Load(); got < 2 {
		t.Errorf("8 conversations never overlapped (max %d at once)", got)
	}
}

func TestTurnQueueIsFIFO(t *testing.T) {
	q := newTurnQueue()
	ctx := context.Background()
	if err := q.acquire(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.acquire(ctx, "k"); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			q.release("k")
		}()
		// Wait until waiter i is in line before starting the next, so the
		// arrival order is known.
		for waiting(q, "k") != i+1 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	q.release("k")
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("turns ran in order %v, want arrival order", order)
		}
	}
	if waiting(q, "k") != -1 {
		t.Error("the key was not freed after the last turn")
	}
}

func waiting(q *turnQueue, key string) int {
	sh := q.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.lines[key]
	if l == nil {
		return -1
	}
	return len(l.waiting)
}

func TestTurnQueueWaiterGivesUp(t *testing.T) {
	q := newTurnQueue()
	if err := q.acquire(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := q.acquire(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire on a held key with an expiring context = %v, want deadline exceeded", err)
	}
	q.release("k")
	if err := q.acquire(context.Background(), "k"); err != nil {
		t.Fatalf("key stuck after a waiter gave up: %v", err)
	}
}

func TestDuplicateEventIsIgnored(t *testing.T) {
	flow := &countingFlow{}
	e := NewEngine(NewMemoryStore(), flow, EngineConfig{}, nil)
	ctx := context.Background()
	first, err := e.Handle(ctx, Message{Address: alice, ID: "ev1", Text: "hi"})
	if err != nil || len(first.Replies) != 1 || first.Duplicate {
		t.Fatalf("first delivery: %+v, %v", first, err)
	}
	again, err := e.Handle(ctx, Message{Address: alice, ID: "ev1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || len(again.Replies) != 0 {
		t.Errorf("redelivery produced %+v, want a silent duplicate", again)
	}
	if flow.calls.Load() != 1 {
		t.Errorf("flow ran %d times for one event", flow.calls.Load())
	}
}

func TestIdleConversationExpires(t *testing.T) {
	flow := &countingFlow{}
	store := NewMemoryStore()
	e := NewEngine(store, flow, EngineConfig{IdleTimeout: time.Hour}, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.SetClock(func() time.Time { return now })
	ctx := context.Background()
	if _, err := e.Handle(ctx, Message{Address: alice, Text: "a"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	res, err := e.Handle(ctx, Message{Address: alice, Text: "b"})
	if err != nil || res.Replies[0].Text != "count 2" {
		t.Fatalf("within the idle time: %+v, %v", res, err)
	}
	now = now.Add(61 * time.Minute)
	res, err = e.Handle(ctx, Message{Address: alice, Text: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Replies) != 1 || res.Replies[0].Text != "resume or start over?" {
		t.Errorf("after expiry got %+v, want the flow's offer to resume", res.Replies)
	}
	res, err = e.Handle(ctx, Message{Address: alice, Text: "resume"})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Text != "count 3" {
		t.Errorf("resuming got %+v, %v; want the count to carry on", res, err)
	}
	var kinds []string
	if err := store.Outcomes(ctx, time.Time{}, func(o Outcome) error { kinds = append(kinds, o.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 1 || kinds[0] != OutcomeExpired {
		t.Errorf("outcomes = %v, want one expired", kinds)
	}
}

func TestFinishedConversationStartsFresh(t *testing.T) {
	flow := &countingFlow{}
	store := NewMemoryStore()
	e := NewEngine(store, flow, EngineConfig{}, nil)
	ctx := context.Background()
	res, err := e.Handle(ctx, Message{Address: alice, Text: "end"})
	if err != nil || !res.Done || res.Outcome != OutcomeResolved {
		t.Fatalf("end: %+v, %v", res, err)
	}
	res, err = e.Handle(ctx, Message{Address: alice, Text: "again"})
	if err != nil || res.Done || res.Replies[0].Text != "count 1" {
		t.Errorf("after the end: %+v, %v; want a new conversation", res, err)
	}
}

// flakyStore fails or conflicts on chosen Save calls.
type flakyStore struct {
	Store
	conflicts atomic.Int32 // Save returns ErrConflict this many times
	fail      error
}

func (f *flakyStore) Save(ctx context.Context, s *Session, o []Outcome) error {
	if f.fail != nil {
		return f.fail
	}
	if f.conflicts.Add(-1) >= 0 {
		return ErrConflict
	}
	return f.Store.Save(ctx, s, o)
}

func TestConflictIsRetriedOnFreshState(t *testing.T) {
	flow := &countingFlow{}
	store := &flakyStore{Store: NewMemoryStore()}
	store.conflicts.Store(3)
	e := NewEngine(store, flow, EngineConfig{}, nil)
	res, err := e.Handle(context.Background(), Message{Address: alice, Text: "hi"})
	if err != nil || res.Replies[0].Text != "count 1" {
		t.Fatalf("got %+v, %v", res, err)
	}
	if flow.calls.Load() != 4 {
		t.Errorf("flow ran %d times, want 4 (3 conflicts + 1 success)", flow.calls.Load())
	}
}

func TestSaveFailureReleasesNoReply(t *testing.T) {
	boom := errors.New("disk on fire")
	store := &flakyStore{Store: NewMemoryStore(), fail: boom}
	e := NewEngine(store, &countingFlow{}, EngineConfig{}, nil)
	res, err := e.Handle(context.Background(), Message{Address: alice, Text: "hi"})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if len(res.Replies) != 0 {
		t.Errorf("replies %+v released although the state was not saved", res.Replies)
	}
}

func TestAddressKeyIsInjective(t *testing.T) {
	pairs := [][2]Address{
		{{Platform: "p", Channel: "a/b", User: "c"}, {Platform: "p", Channel: "a", Thread: "b", User: "c"}},
		{{Platform: "p", User: "a%2Fb"}, {Platform: "p", User: "a/b"}},
		{{Workspace: "w"}, {Channel: "w"}},
	}
	for _, p := range pairs {
		if p[0].Key() == p[1].Key() {
			t.Errorf("%+v and %+v share key %q", p[0], p[1], p[0].Key())
		}
	}
	if alice.Key() != alice.Key() {
		t.Error("key is not stable")
	}
}

func TestCurrentShowsTheWaitingQuestion(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	ctx := context.Background()
	res, err := e.Current(ctx, alice)
	if err != nil || len(res.Replies) != 0 {
		t.Fatalf("no conversation: %+v, %v", res, err)
	}
	if _, err := e.Handle(ctx, Message{Address: alice, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	res, err = e.Current(ctx, alice)
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Text != "current count" {
		t.Errorf("in progress: %+v, %v", res, err)
	}
}

func TestLogsHashKeysAndHoldNoText(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, log)
	secret := Address{Platform: "test", User: "alice-user-id-123"}
	for _, text := range []string{"my password is hunter2", "end"} {
		if _, err := e.Handle(context.Background(), Message{Address: secret, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	if !strings.Contains(out, "conversation ended") || !strings.Contains(out, "conversation="+LogKey(secret.Key())) {
		t.Errorf("logs lack the outcome line with the hashed key:\n%s", out)
	}
	for _, leak := range []string{"alice-user-id-123", "hunter2"} {
		if strings.Contains(out, leak) {
			t.Errorf("logs contain %q:\n%s", leak, out)
		}
	}
}

// panickyFlow panics on "boom" and counts otherwise.
type panickyFlow struct{ countingFlow }

func (f *panickyFlow) Respond(s *Session, m Message) (Turn, error) {
	if m.Text == "boom" {
		panic("guide bug")
	}
	return f.countingFlow.Respond(s, m)
}

func TestFlowPanicBecomesAnErrorAndChangesNothing(t *testing.T) {
	var logs strings.Builder
	e := NewEngine(NewMemoryStore(), &panickyFlow{}, EngineConfig{}, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	if _, err := e.Handle(ctx, Message{Address: alice, ID: "1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Handle(ctx, Message{Address: alice, ID: "2", Text: "boom"})
	if !errors.Is(err, ErrFlowPanic) {
		t.Fatalf("Handle of a panicking turn = %v, want ErrFlowPanic", err)
	}
	if !strings.Contains(logs.String(), "panicked") || !strings.Contains(logs.String(), "guide bug") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
	res, err := e.Handle(ctx, Message{Address: alice, ID: "3", Text: "next"})
	if err != nil || res.Replies[0].Text != "count 2" {
		t.Errorf("after the panic: %+v, %v; want the conversation to carry on unchanged (count 2)", res, err)
	}
}
