package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// TestOutboxFailedPostsAreTriedAgain: a take whose post fails is taken
// again after its back-off, as often as it takes, and posted once.
func TestOutboxFailedPostsAreTriedAgain(t *testing.T) {
	ctx := context.Background()
	for _, failures := range []int{1, 5} {
		store := NewMemoryStore()
		clock := newSweepClock()
		sender := &flakySender{failures: failures}
		e := outboxEngine(store, clock, sender)
		bob := Address{Platform: "test", Channel: "c", User: "bob"}
		if _, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		for range 40 { // 20 minutes, nudge included
			clock.Advance(30 * time.Second)
			if _, err := e.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := sender.sentTexts()
		slices.Sort(got) // with 5 failures the nudge (at 10 min) comes first
		if sender.attempts != failures+2 || !slices.Equal(got, []string{"bob: " + NudgeNotice, "bob: count 1"}) {
			t.Errorf("%d failing sends: %d attempts, sent %q; want %d attempts, the reply once and the nudge", failures, sender.attempts, got, failures+2)
		}
		if s := loadSession(t, store, bob); len(s.Outbox) != 0 {
			t.Errorf("%d failing sends: outbox %+v left", failures, s.Outbox)
		}
	}
}

// TestOutboxBackoff: the wait after each take doubles from the outbox
// delay up to maxOutboxBackoff; a longer outbox delay is kept.
func TestOutboxBackoff(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		tries int
		want  time.Duration
	}{
		{30 * time.Second, 1, 30 * time.Second},
		{30 * time.Second, 2, time.Minute},
		{30 * time.Second, 4, 4 * time.Minute},
		{30 * time.Second, 5, maxOutboxBackoff},
		{30 * time.Second, 1 << 20, maxOutboxBackoff},
		{10 * time.Minute, 3, 10 * time.Minute},
	} {
		if got := outboxBackoff(tc.after, tc.tries); got != tc.want {
			t.Errorf("outboxBackoff(%v, %d) = %v; want %v", tc.after, tc.tries, got, tc.want)
		}
	}
}

// lockedBuffer is a log destination for engines that log from several
// goroutines (the sweeper's).
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggingOutboxEngine is outboxEngine with cfg and its log in logs.
func loggingOutboxEngine(store Store, clock *sweepClock, sender Sender, cfg EngineConfig, logs *lockedBuffer) *Engine {
	cfg.NudgeAfter, cfg.IdleTimeout = 10*time.Minute, time.Hour
	e := NewEngine(store, &countingFlow{}, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	e.SetClock(clock.Now)
	e.SetSender("test", sender)
	e.KeepOutbox("test", 30*time.Second)
	return e
}

// undeliverableSender fails every post as no retry can fix.
type undeliverableSender struct{ attempts atomic.Int32 }

func (u *undeliverableSender) Send(context.Context, Address, []Reply) error {
	u.attempts.Add(1)
	return fmt.Errorf("%w: channel_not_found", ErrUndeliverable)
}

// TestOutboxUndeliverableIsDroppedAtOnce: a post the platform refuses for
// good (ErrUndeliverable) is not tried again; the drop is logged as an
// error naming the conversation.
func TestOutboxUndeliverableIsDroppedAtOnce(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &undeliverableSender{}
	var logs lockedBuffer
	e := loggingOutboxEngine(store, clock, sender, EngineConfig{}, &logs)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	if _, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		clock.Advance(time.Minute)
		if _, err := e.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := sender.attempts.Load(); n != 2 { // the reply, then the nudge
		t.Errorf("%d posts; want 1 of the reply (then 1 of the nudge)", n)
	}
	if s := loadSession(t, store, bob); len(s.Outbox) != 0 {
		t.Errorf("outbox %+v kept after an undeliverable post", s.Outbox)
	}
	want := "level=ERROR msg=\"unconfirmed replies dropped: the platform cannot deliver them\" conversation=" + LogKey(bob.Key())
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log:\n%s\nwant a line with %s", logs.String(), want)
	}
}

// TestOutboxDroppedAfterMaxAge: a platform down for longer than
// OutboxMaxAge: the entry is tried until then, and the drop is logged as
// an error with the conversation and the entry's age.
func TestOutboxDroppedAfterMaxAge(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &outageSender{}
	sender.down.Store(true)
	var logs lockedBuffer
	e := loggingOutboxEngine(store, clock, sender, EngineConfig{OutboxMaxAge: 2 * time.Hour}, &logs)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	if _, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	sweepUntil := func(d time.Duration) {
		for start := clock.Now(); clock.Now().Sub(start) < d; {
			clock.Advance(30 * time.Second)
			if _, err := e.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	sweepUntil(110 * time.Minute)
	if s := loadSession(t, store, bob); len(s.Outbox) != 1 {
		t.Fatalf("outbox %+v before outbox_max_age; want the entry kept", s.Outbox)
	}
	// 30 s, 1, 2, 4 min, then every 5 min: about 25 tries in 110 min.
	if n := sender.attempts.Load(); n < 20 || n > 26 {
		t.Errorf("%d tries in 110 minutes; want about 25", n)
	}
	sweepUntil(15 * time.Minute)
	if s := loadSession(t, store, bob); len(s.Outbox) != 0 {
		t.Errorf("outbox %+v after outbox_max_age; want it dropped", s.Outbox)
	}
	want := "level=ERROR msg=\"unconfirmed replies dropped: not posted within outbox_max_age\" conversation=" + LogKey(bob.Key()) + " platform=test age=2h"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log:\n%s\nwant a line with %s", logs.String(), want)
	}
}

// TestOutboxEntrySavedByTheTwoTriesVersionIsStillPosted: a session saved
// by the version that gave up after two tries (its entry taken twice, due
// once more) is read as it was written, and its reply still goes out.
func TestOutboxEntrySavedByTheTwoTriesVersionIsStillPosted(t *testing.T) {
	const saved = `{"key":"test//c//bob","address":{"Platform":"test","Workspace":"","Channel":"c","Thread":"","User":"bob"},` +
		`"guide":"g","guide_version":"1","step":"count","answers":{"count":"1"},"history":[{"step":"count","var":"count"}],` +
		`"events":["e1"],"started":"2026-01-01T09:00:00Z","updated":"2026-01-01T09:00:00Z","due":"2026-01-01T09:02:32Z",` +
		`"timer":"2026-01-01T09:10:00Z","outbox":[{"id":"e75f7d282be2c899","event":"e1","replies":[{"text":"count 1"}],` +
		`"step":"count","guide_version":"1","created":"2026-01-01T09:00:00Z","attempted":"2026-01-01T09:02:02Z","tries":2}],` +
		`"turn":"e75f7d282be2c899","version":3}`
	s, err := UnmarshalSession([]byte(saved))
	if err != nil {
		t.Fatal(err)
	}
	if x := s.Outbox; len(x) != 1 || x[0].Tries != 2 || x[0].Attempted.IsZero() || x[0].Replies[0].Text != "count 1" {
		t.Fatalf("decoded outbox %+v", x)
	}
	ctx := context.Background()
	store := NewMemoryStore()
	s.Version = 0 // a new record in this store
	if err := store.Save(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	clock := newSweepClock()
	clock.Advance(2*time.Minute + 32*time.Second)
	sender := &recordingPoster{}
	e := outboxEngine(store, clock, sender)
	for range 4 {
		if _, err := e.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(30 * time.Second)
	}
	if got := sender.sentTexts(); !slices.Equal(got, []string{"bob: count 1"}) {
		t.Errorf("sent %q; want the saved reply once", got)
	}
	if s := loadSession(t, store, s.Address); len(s.Outbox) != 0 {
		t.Errorf("outbox %+v left", s.Outbox)
	}
}

// TestOutboxWithoutSenderIsLeftForAReplicaWithOne: during a deploy that
// adds a platform, replicas still without it sweep its entries too; they
// leave them (backing off) for a replica that can post them.
func TestOutboxWithoutSenderIsLeftForAReplicaWithOne(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	old := NewEngine(store, &countingFlow{}, EngineConfig{NudgeAfter: 10 * time.Minute, IdleTimeout: time.Hour}, nil)
	old.SetClock(clock.Now)
	old.KeepOutbox("test", 30*time.Second)
	sender := &recordingPoster{}
	upgraded := outboxEngine(store, clock, sender)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	if _, err := upgraded.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock.Advance(time.Minute)
		if st, err := old.Sweep(ctx); err != nil || st.Posted != 0 {
			t.Fatalf("replica without a sender: sweep = %+v, %v", st, err)
		}
	}
	if s := loadSession(t, store, bob); len(s.Outbox) != 1 {
		t.Fatalf("outbox %+v after sweeps by a replica without a sender; want the entry kept", s.Outbox)
	}
	clock.Advance(5 * time.Minute)
	if st, err := upgraded.Sweep(ctx); err != nil || st.Posted != 1 || !slices.Equal(sender.sentTexts(), []string{"bob: count 1"}) {
		t.Errorf("replica with the sender: sweep = %+v, %v, sent %q; want the reply posted", st, err, sender.sentTexts())
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

// TestOutboxTransientFailuresNeverDropAReply: the platform refuses posts
// (down, rate limiting) for 10 minutes, twenty times the outbox delay. The
// sweeper keeps trying, backing off, and posts the reply once it recovers.
func TestOutboxTransientFailuresNeverDropAReply(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	clock := newSweepClock()
	sender := &outageSender{}
	sender.down.Store(true)
	e := outboxEngine(store, clock, sender)
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	if _, err := e.Handle(ctx, Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	sweepFor := func(d time.Duration) {
		for end := clock.Now().Add(d); clock.Now().Before(end); {
			clock.Advance(30 * time.Second)
			if _, err := e.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	sweepFor(10 * time.Minute)
	during := sender.attempts.Load()
	sender.down.Store(false)
	sweepFor(10 * time.Minute)
	// (The nudge, due at 10 min, fell in the outage: notices are not
	// retried.)
	if got := sender.sentTexts(); !slices.Equal(got, []string{"bob: count 1"}) {
		t.Errorf("sent %q after a 10-minute outage; want the reply once", got)
	}
	// Backed off: 30 s, 1, 2, 4 min... not one try per sweep (20).
	if during < 3 || during > 6 {
		t.Errorf("%d tries in a 10-minute outage; want 3 to 6 (exponential back-off from 30 s)", during)
	}
	if s := loadSession(t, store, bob); len(s.Outbox) != 0 {
		t.Errorf("outbox %+v left after posting", s.Outbox)
	}
}

// outageSender fails with a transient error while down. attempts counts
// its posts of replies (not of the sweeper's notices).
type outageSender struct {
	recordingPoster
	down     atomic.Bool
	attempts atomic.Int32
}

func (o *outageSender) Send(ctx context.Context, to Address, replies []Reply) error {
	if replies[0].Text != NudgeNotice {
		o.attempts.Add(1)
	}
	if o.down.Load() {
		return errors.New("503 Service Unavailable")
	}
	return o.recordingPoster.Send(ctx, to, replies)
}

// dyingSender stands for a process killed while posting: it ends the
// sweep's context and fails, so the claim is saved but nothing is posted
// or removed.
type dyingSender struct {
	recordingPoster
	kill context.CancelFunc
}

func (d *dyingSender) Send(ctx context.Context, to Address, replies []Reply) error {
	d.kill()
	return context.Canceled
}

// TestOutboxSurvivesSweepersDyingTwice: a crash loop (or a rolling deploy)
// kills the sweeper that took an entry, twice; the third process over the
// same store still posts it, once.
func TestOutboxSurvivesSweepersDyingTwice(t *testing.T) {
	store := NewMemoryStore()
	clock := newSweepClock()
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	if _, err := outboxEngine(store, clock, &recordingPoster{}).Handle(context.Background(), Message{Address: bob, ID: "e1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ctx, kill := context.WithCancel(context.Background())
		clock.Advance(5 * time.Minute)
		if _, err := outboxEngine(store, clock, &dyingSender{kill: kill}).Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		kill()
		if s := loadSession(t, store, bob); len(s.Outbox) != 1 {
			t.Fatalf("outbox %+v after a sweeper died holding it; want the entry kept", s.Outbox)
		}
	}
	clock.Advance(5 * time.Minute)
	third := &recordingPoster{}
	if st, err := outboxEngine(store, clock, third).Sweep(context.Background()); err != nil || st.Posted != 1 {
		t.Errorf("third process's sweep = %+v, %v; want 1 posted", st, err)
	}
	if got := third.sentTexts(); !slices.Equal(got, []string{"bob: count 1"}) {
		t.Errorf("third process sent %q; want the reply", got)
	}
}
