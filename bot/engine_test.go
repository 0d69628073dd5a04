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

// send hands e the texts of the person at a, in order, failing t on an
// error.
func send(ctx context.Context, t *testing.T, e *Engine, a Address, texts ...string) {
	t.Helper()
	for _, text := range texts {
		if _, err := e.Handle(ctx, Message{Address: a, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
}

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

// afterEndFlow is a countingFlow that answers finished conversations
// itself: "thanks" gets "welcome" and the session stays done.
type afterEndFlow struct{ countingFlow }

func (f *afterEndFlow) RespondsAfterEnd() bool { return true }

func (f *afterEndFlow) Respond(s *Session, m Message) (Turn, error) {
	if s.Done && s.Outcome == OutcomeResolved {
		if m.Text == "thanks" {
			return Turn{Replies: []Reply{{Text: "welcome", Done: true}}}, nil
		}
		s.Reset(m.Time)
	}
	return f.countingFlow.Respond(s, m)
}

func TestAfterEndFlowSeesTheFinishedConversation(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &afterEndFlow{}, EngineConfig{}, nil)
	ctx := context.Background()
	if res, err := e.Handle(ctx, Message{Address: alice, Text: "end"}); err != nil || !res.Done {
		t.Fatalf("end: %+v, %v", res, err)
	}
	res, err := e.Handle(ctx, Message{Address: alice, Text: "thanks"})
	if err != nil || !res.Done || res.Outcome != OutcomeResolved || len(res.Replies) != 1 || res.Replies[0].Text != "welcome" {
		t.Fatalf("thanks after the end: %+v, %v; want the flow's answer, still done", res, err)
	}
	res, err = e.Handle(ctx, Message{Address: alice, Text: "again"})
	if err != nil || res.Done || res.Replies[0].Text != "count 1" {
		t.Errorf("a new message after the end: %+v, %v; want a new conversation", res, err)
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

func TestCurrentShowsTheWaitingQuestion(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	ctx := context.Background()
	res, err := e.Current(ctx, alice)
	if err != nil || len(res.Replies) != 0 {
		t.Fatalf("no conversation: %+v, %v", res, err)
	}
	send(ctx, t, e, alice, "hi")
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

func TestCurrentSaysWhenTheBotStillListens(t *testing.T) {
	ctx := context.Background()
	clock := newSweepClock()
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{IdleTimeout: time.Hour, NudgeAfter: -1}, nil)
	e.SetClock(clock.Now)
	e.SetHandoffPoster("test", &recordingPoster{})
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	carol := Address{Platform: "test", Channel: "c", User: "carol"}
	for _, m := range []Message{
		{Address: alice, Text: "hi"}, {Address: alice, Text: "escalate"},
		{Address: bob, Text: "hi"}, {Address: bob, Text: "end"},
		{Address: carol, Text: "hi"},
	} {
		if _, err := e.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	check := func(who Address, wantListening bool, wantReplies int) {
		t.Helper()
		res, err := e.Current(ctx, who)
		if err != nil || res.Listening != wantListening || len(res.Replies) != wantReplies {
			t.Errorf("Current(%s) = %+v, %v; want listening %v with %d replies", who.User, res, err, wantListening, wantReplies)
		}
	}
	check(alice, true, 0) // with staff: quiet, but "restart" must reach the engine
	check(bob, false, 0)  // resolved: over
	check(carol, false, 1)
	clock.Advance(2 * time.Hour)
	check(carol, true, 0) // idle past the timeout, not yet swept: the next message offers to resume
	if _, err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	check(carol, true, 0) // swept: still resumable
}
