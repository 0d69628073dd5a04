package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// outboxEngine is a sweep engine (fake clock, nudge after 10 min) whose
// platform "test" keeps an outbox for 30 s.
func outboxEngine(store Store, clock *sweepClock, sender Sender) *Engine {
	e := newSweepEngine(store, clock, sender)
	e.KeepOutbox("test", 30*time.Second)
	return e
}

func loadSession(t *testing.T, store Store, a Address) *Session {
	t.Helper()
	s, err := store.Load(context.Background(), a.Key())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOutboxUnconfirmedRepliesArePostedOnceBySweeper: the process died
// between saving a turn and posting its replies (the adapter never called
// Delivered). The sweeper posts them once, after the outbox delay, and the
// conversation's own timer (the nudge) still fires on time.
func TestOutboxUnconfirmedRepliesArePostedOnceBySweeper(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &recordingPoster{}
	e := outboxEngine(store, clock, sender)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	res, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outbox == "" || !slices.Equal(texts(res.Replies), []string{"count 1"}) {
		t.Fatalf("result %+v: want the replies and their outbox id", res)
	}
	s := loadSession(t, store, bob)
	if len(s.Outbox) != 1 || s.Outbox[0].ID != res.Outbox || s.Outbox[0].Event != "e1" || s.Due.After(clock.Now().Add(30*time.Second)) {
		t.Fatalf("saved session: outbox %+v, due %v; want the entry, due within 30 s", s.Outbox, s.Due)
	}
	// "Crash": nobody calls Delivered.
	clock.Advance(10 * time.Second)
	if st, _ := e.Sweep(ctx); st.Posted != 0 || len(sender.sentTexts()) != 0 {
		t.Fatalf("posted %v before the outbox delay", sender.sentTexts())
	}
	clock.Advance(25 * time.Second)
	// A restarted replica (a new engine on the same store) sweeps.
	e2 := outboxEngine(store, clock, sender)
	if st, err := e2.Sweep(ctx); err != nil || st.Posted != 1 {
		t.Fatalf("sweep = %+v, %v; want 1 posted", st, err)
	}
	for range 12 {
		clock.Advance(time.Minute)
		if _, err := e2.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := sender.sentTexts(); !slices.Equal(got, []string{"bob: count 1", "bob: " + NudgeNotice}) {
		t.Errorf("sent %q; want the reply once, then the nudge at 10 min", got)
	}
	if s := loadSession(t, store, bob); len(s.Outbox) != 0 || s.Timer != (time.Time{}) {
		t.Errorf("outbox %+v, timer %v left after posting", s.Outbox, s.Timer)
	}
}

// TestOutboxTwoReplicasSweepingPostOnce: replicas sweeping the same store
// at once claim each entry in a compare-and-swap; each reply goes out once.
func TestOutboxTwoReplicasSweepingPostOnce(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &recordingPoster{}
	engines := []*Engine{outboxEngine(store, clock, sender), outboxEngine(store, clock, sender)}
	const people = 40
	for i := range people {
		a := Address{Platform: "test", Channel: "c", User: fmt.Sprint("p", i)}
		if _, err := engines[i%2].Handle(ctx, Message{Address: a, ID: fmt.Sprint("e", i), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(31 * time.Second)
	var wg sync.WaitGroup
	for range 4 {
		for _, e := range engines {
			wg.Go(func() {
				if _, err := e.Sweep(ctx); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	got := sender.sentTexts()
	slices.Sort(got)
	if len(got) != people || len(slices.Compact(got)) != people {
		t.Errorf("%d replies posted by 2 replicas sweeping 4 times each, %d distinct; want each of %d once", len(got), len(slices.Compact(got)), people)
	}
}

// TestOutboxDeliveredRemovesTheEntry: a confirmed entry is gone, and the
// sweeper posts nothing.
func TestOutboxDeliveredRemovesTheEntry(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &recordingPoster{}
	e := outboxEngine(store, clock, sender)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	res, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Delivered(ctx, bob, res.Outbox); err != nil {
		t.Fatal(err)
	}
	s := loadSession(t, store, bob)
	if len(s.Outbox) != 0 || !s.Due.Equal(s.Updated.Add(10*time.Minute)) {
		t.Errorf("after Delivered: outbox %+v, due %v; want none, due at the nudge", s.Outbox, s.Due)
	}
	// Confirming again, or an unknown id or conversation, is not an error.
	for _, id := range []string{res.Outbox, "nope"} {
		if err := e.Delivered(ctx, bob, id); err != nil {
			t.Errorf("Delivered(%q) again: %v", id, err)
		}
	}
	if err := e.Delivered(ctx, Address{Platform: "test", User: "nobody"}, "x"); err != nil {
		t.Errorf("Delivered on an unknown conversation: %v", err)
	}
	clock.Advance(time.Minute)
	if st, _ := e.Sweep(ctx); st.Posted != 0 || len(sender.sentTexts()) != 0 {
		t.Errorf("sweeper posted %v after the adapter confirmed", sender.sentTexts())
	}
}

// TestOutboxDuplicateDeliveryGetsTheSameEntry: a redelivery of the event
// (the adapter crashed before posting) gets the same entry to post; once
// confirmed, a redelivery gets nothing.
func TestOutboxDuplicateDeliveryGetsTheSameEntry(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	e := outboxEngine(store, clock, &recordingPoster{})
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	first, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Outbox != first.Outbox || !slices.Equal(texts(again.Replies), texts(first.Replies)) || again.Step != first.Step {
		t.Fatalf("redelivery = %+v; want a duplicate with outbox %q and the replies %q", again, first.Outbox, texts(first.Replies))
	}
	if err := e.Delivered(ctx, bob, again.Outbox); err != nil {
		t.Fatal(err)
	}
	late, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"})
	if err != nil || !late.Duplicate || late.Outbox != "" || len(late.Replies) != 0 {
		t.Errorf("redelivery after Delivered = %+v, %v; want a duplicate with nothing to send", late, err)
	}
	if n := loadSession(t, store, bob).Answers["count"]; n != "1" {
		t.Errorf("count %s after three deliveries of one event, want 1", n)
	}
}

// flakySender fails its first failures sends.
type flakySender struct {
	recordingPoster
	fmu      sync.Mutex
	failures int
	attempts int
}

func (f *flakySender) Send(ctx context.Context, to Address, replies []Reply) error {
	f.fmu.Lock()
	f.attempts++
	fail := f.failures > 0
	if fail {
		f.failures--
	}
	f.fmu.Unlock()
	if fail {
		return errors.New("platform down")
	}
	return f.recordingPoster.Send(ctx, to, replies)
}

// TestOutboxEntryIsTakenAtMostTwice: a take whose post fails (or whose
// process died) is retried once more after the outbox delay, then the
// entry is dropped: never a third post.
func TestOutboxEntryIsTakenAtMostTwice(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		failures, wantAttempts, wantPosted int
	}{{1, 2, 1}, {5, 2, 0}} {
		store := NewMemoryStore()
		clock := newSweepClock()
		sender := &flakySender{failures: tc.failures}
		e := outboxEngine(store, clock, sender)
		bob := Address{Platform: "test", Channel: "c", User: "bob"}
		if _, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		for range 6 {
			clock.Advance(31 * time.Second)
			if _, err := e.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if sender.attempts != tc.wantAttempts || len(sender.sentTexts()) != tc.wantPosted {
			t.Errorf("%d failing sends: %d attempts, %d posted; want %d, %d", tc.failures, sender.attempts, len(sender.sentTexts()), tc.wantAttempts, tc.wantPosted)
		}
		if s := loadSession(t, store, bob); len(s.Outbox) != 0 {
			t.Errorf("%d failing sends: outbox %+v left", tc.failures, s.Outbox)
		}
	}
}

// TestOutboxIsBoundedAndOnlyForItsPlatforms: a platform that never
// confirms cannot grow a session past maxOutbox entries; platforms without
// KeepOutbox keep none.
func TestOutboxIsBoundedAndOnlyForItsPlatforms(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	e := outboxEngine(store, clock, &recordingPoster{})
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	for i := range maxOutbox + 8 {
		if _, err := e.Handle(ctx, Message{Address: bob, ID: fmt.Sprint("e", i), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	s := loadSession(t, store, bob)
	if len(s.Outbox) != maxOutbox || s.Outbox[0].Event != "e8" {
		t.Errorf("outbox holds %d entries from %q; want the newest %d", len(s.Outbox), s.Outbox[0].Event, maxOutbox)
	}
	other := Address{Platform: "other", Channel: "c", User: "bob"}
	res, err := e.Handle(ctx, Message{Address: other, ID: "x", Text: "hi"})
	if err != nil || res.Outbox != "" || len(res.Replies) != 1 {
		t.Fatalf("other platform: %+v, %v; want replies and no outbox", res, err)
	}
	if s := loadSession(t, store, other); len(s.Outbox) != 0 {
		t.Errorf("a platform without KeepOutbox kept %+v", s.Outbox)
	}
}
