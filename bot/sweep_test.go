package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sweepClock is a settable clock for sweep tests.
type sweepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sweepClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *sweepClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newSweepClock is a sweepClock at 9:00 on a fixed day.
func newSweepClock() *sweepClock {
	return &sweepClock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
}

func newSweepEngine(store Store, clock *sweepClock, sender Sender) *Engine {
	e := NewEngine(store, &countingFlow{}, EngineConfig{NudgeAfter: 10 * time.Minute, IdleTimeout: time.Hour}, nil)
	e.SetClock(clock.Now)
	e.SetSender("test", sender)
	return e
}

func TestSweepNudgesOnceThenExpiresAcrossARestart(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &recordingPoster{}
	e := newSweepEngine(store, clock, sender)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	for _, a := range []Address{alice, bob} {
		send(ctx, t, e, a, "hi")
	}
	sweep := func(e *Engine) SweepStats {
		t.Helper()
		st, err := e.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	clock.Advance(9 * time.Minute)
	if st := sweep(e); st != (SweepStats{}) {
		t.Errorf("sweep before the nudge time did %+v", st)
	}
	// Bob answers in time; Alice does not.
	if _, err := e.Handle(ctx, Message{Address: bob, Text: "here"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if st := sweep(e); st.Nudged != 1 {
		t.Errorf("sweep at 11 minutes = %+v, want 1 nudge (alice)", st)
	}
	if st := sweep(e); st.Nudged != 0 {
		t.Errorf("second sweep = %+v, want no second nudge", st)
	}
	// Restart: a new engine over the same store knows the timers.
	e2 := newSweepEngine(store, clock, sender)
	clock.Advance(time.Hour)
	if st := sweep(e2); st.Expired != 2 || st.Nudged != 0 {
		t.Errorf("sweep after the expiry time on a restarted engine = %+v, want both expired, no nudge", st)
	}
	if st := sweep(e2); st != (SweepStats{}) {
		t.Errorf("sweep after expiry did %+v again", st)
	}
	got := sender.sentTexts()
	want := []string{"alice: " + NudgeNotice, "alice: " + fmt.Sprintf(ExpiredNoticeFormat, "1 hour"), "bob: " + fmt.Sprintf(ExpiredNoticeFormat, "1 hour")}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var kinds []string
	if err := store.Outcomes(ctx, time.Time{}, func(o Outcome) error { kinds = append(kinds, o.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(kinds) != "[expired expired]" {
		t.Errorf("outcomes = %v, want two expired", kinds)
	}
	// Alice comes back: offered to resume, and can.
	res, err := e2.Handle(ctx, Message{Address: alice, Text: "back again"})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Text != "resume or start over?" {
		t.Errorf("coming back after expiry = %q, %v; want the offer to resume", texts(res.Replies), err)
	}
}

func TestSweepingReplicasNudgeOnce(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &recordingPoster{}
	const people, replicas = 40, 4
	engines := make([]*Engine, replicas)
	for i := range engines {
		engines[i] = newSweepEngine(store, clock, sender)
	}
	for i := range people {
		a := Address{Platform: "test", Channel: "c", User: fmt.Sprint("p", i)}
		if _, err := engines[i%replicas].Handle(ctx, Message{Address: a, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(15 * time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total SweepStats
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := e.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.Nudged += st.Nudged
			total.Failed += st.Failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("sweep: %d replicas, %d people idle, %d nudges sent", replicas, people, len(sender.sentTexts()))
	if total.Nudged != people || len(sender.sentTexts()) != people || total.Failed != 0 {
		t.Errorf("%d replicas sweeping %d idle people: %+v, %d sent; want exactly %d nudges", replicas, people, total, len(sender.sentTexts()), people)
	}
}

func TestAnswerAfterNudgeResetsTheTimer(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &recordingPoster{}
	e := newSweepEngine(store, clock, sender)
	send(ctx, t, e, alice, "hi")
	clock.Advance(11 * time.Minute)
	if st, _ := e.Sweep(ctx); st.Nudged != 1 {
		t.Fatalf("first nudge: %+v", st)
	}
	if _, err := e.Handle(ctx, Message{Address: alice, Text: "sorry, here"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(11 * time.Minute)
	if st, _ := e.Sweep(ctx); st.Nudged != 1 || st.Expired != 0 {
		t.Errorf("after answering and going quiet again: %+v, want a new nudge", st)
	}
}
