package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// recordingPoster is a HandoffPoster and Sender that records what it was
// given, failing the first failures calls.
type recordingPoster struct {
	mu       sync.Mutex
	failures int
	handoffs []Handoff
	sent     []string // "user: text"
}

func (p *recordingPoster) PostHandoff(_ context.Context, h Handoff) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failures > 0 {
		p.failures--
		return errors.New("support channel unreachable")
	}
	p.handoffs = append(p.handoffs, h)
	return nil
}

func (p *recordingPoster) Send(_ context.Context, to Address, replies []Reply) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range replies {
		p.sent = append(p.sent, to.User+": "+r.Text)
	}
	return nil
}

func (p *recordingPoster) sentTexts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

func texts(rs []Reply) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Text
	}
	return out
}

func TestEscalationHandsOffAndStaysQuietUntilClosed(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	poster := &recordingPoster{}
	e := NewEngine(store, &countingFlow{}, EngineConfig{}, nil)
	e.SetHandoffPoster("test", poster)
	send := func(text string) Result {
		t.Helper()
		res, err := e.Handle(ctx, Message{Address: alice, Text: text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		return res
	}
	send("hi")
	res := send("escalate")
	if got := texts(res.Replies); len(got) != 2 || got[0] != "summary" || got[1] != HandoffNotice {
		t.Fatalf("escalating replied %q, want the summary then the handoff notice", got)
	}
	if len(poster.handoffs) != 1 || poster.handoffs[0].Summary != "count 2" || poster.handoffs[0].Address != alice {
		t.Fatalf("handoffs posted = %+v, want one for alice with the flow's summary", poster.handoffs)
	}
	for _, text := range []string{"hello?", "anyone there", "end"} {
		if res := send(text); len(res.Replies) != 0 || res.Duplicate {
			t.Errorf("while handed off, %q got %+v; want silence", text, res)
		}
	}
	replies, closed, err := e.CloseHandoff(ctx, alice, time.Time{})
	if err != nil || !closed || len(replies) != 1 || replies[0].Text != HandoffClosedNotice {
		t.Fatalf("CloseHandoff = %q, %v, %v; want the closed notice", texts(replies), closed, err)
	}
	if _, closed, err := e.CloseHandoff(ctx, alice, time.Time{}); err != nil || closed {
		t.Errorf("second CloseHandoff = %v, %v; want not closed (nothing to close)", closed, err)
	}
	if res := send("hi again"); len(res.Replies) != 1 || res.Replies[0].Text != "count 1" {
		t.Errorf("after close, a message got %q; want a fresh conversation", texts(res.Replies))
	}
	var kinds []string
	if err := store.Outcomes(ctx, time.Time{}, func(o Outcome) error { kinds = append(kinds, o.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(kinds) != "[escalated]" {
		t.Errorf("outcomes = %v, want one escalation", kinds)
	}
}

func TestHandedOffPersonCanRestart(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	e.SetHandoffPoster("test", &recordingPoster{})
	send(ctx, t, e, alice, "hi", "escalate")
	res, err := e.Handle(ctx, Message{Address: alice, Text: "restart"})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Text != "count 1" {
		t.Fatalf("restart while handed off = %q, %v; want a fresh start", texts(res.Replies), err)
	}
	if _, closed, err := e.CloseHandoff(ctx, alice, time.Time{}); err != nil || closed {
		t.Errorf("closing after the person restarted = %v, %v; want nothing to close", closed, err)
	}
}

func TestFailedHandoffIsRetriedThenReleasesThePerson(t *testing.T) {
	ctx := context.Background()
	clock := newSweepClock()
	poster := &recordingPoster{failures: handoffAttempts + 5} // down for a few minutes
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	e.SetClock(clock.Now)
	e.SetHandoffPoster("test", poster)
	e.SetSender("test", poster)
	send(ctx, t, e, alice, "hi")
	res, err := e.Handle(ctx, Message{Address: alice, Text: "escalate"})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(res.Replies); len(got) != 2 || got[1] != HandoffDelayedNotice {
		t.Fatalf("escalation with the support channel down replied %q, want the delayed notice", got)
	}
	if res, _ := e.Handle(ctx, Message{Address: alice, Text: "ok, waiting"}); len(res.Replies) != 0 {
		t.Errorf("while the handoff is pending the bot said %q; it should stay quiet", texts(res.Replies))
	}
	for range 10 { // the sweeper, every minute
		clock.Advance(time.Minute)
		if _, err := e.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(poster.handoffs) != 1 || len(poster.sentTexts()) != 0 {
		t.Fatalf("after the outage: %d handoffs posted, %q sent; want it posted once, the person not bothered", len(poster.handoffs), poster.sentTexts())
	}

	// An outage that outlasts the hour: the person is told and answered again.
	bob := Address{Platform: "test", Channel: "c", User: "bob"}
	poster.failures = 1 << 20
	send(ctx, t, e, bob, "hi", "escalate")
	for range 70 {
		clock.Advance(time.Minute)
		if _, err := e.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := poster.sentTexts(); len(got) != 1 || got[0] != "bob: "+HandoffFailedNotice {
		t.Errorf("sent %q, want the failure notice to bob once", got)
	}
	res, err = e.Handle(ctx, Message{Address: bob, Text: "hello"})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Text != "count 1" {
		t.Errorf("after giving up, a message got %q, %v; want an answer, not silence", texts(res.Replies), err)
	}
}

func TestHandoffRetriesABriefOutage(t *testing.T) {
	poster := &recordingPoster{failures: handoffAttempts - 1}
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	e.SetHandoffPoster("test", poster)
	send(context.Background(), t, e, alice, "hi")
	res, err := e.Handle(context.Background(), Message{Address: alice, Text: "escalate"})
	if err != nil || texts(res.Replies)[1] != HandoffNotice || len(poster.handoffs) != 1 {
		t.Errorf("with %d failed attempts: replies %q, %d posted, %v; want it posted on the last attempt",
			handoffAttempts-1, texts(res.Replies), len(poster.handoffs), err)
	}
}

func TestWithoutASupportChannelEscalationJustEnds(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	ctx := context.Background()
	send(ctx, t, e, alice, "hi", "escalate")
	res, err := e.Handle(ctx, Message{Address: alice, Text: "hello"})
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Text != "count 1" {
		t.Errorf("after an escalation without handoff: %q, %v; want a fresh start", texts(res.Replies), err)
	}
}

// TestPostedHandoffWithAQuietMessageMeanwhileIsNotPostedAgain: a message
// that arrives while the handoff is being posted (a quiet turn, saved)
// must not stop the posted handoff from being recorded as posted, else the
// sweeper would post it again. (Found in review: the handoff was matched
// on Updated, which the quiet turn moved.)
func TestPostedHandoffWithAQuietMessageMeanwhileIsNotPostedAgain(t *testing.T) {
	ctx := context.Background()
	clock := newSweepClock()
	p := &gatePoster{entered: make(chan struct{}), release: make(chan struct{})}
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	e.SetClock(clock.Now)
	e.SetHandoffPoster("test", p)
	send(ctx, t, e, alice, "hi")
	done := make(chan Result)
	go func() {
		res, err := e.Handle(ctx, Message{Address: alice, Text: "escalate"})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-p.entered
	// The person says "thanks" while the post is in flight: quiet turn, saved.
	if res, err := e.Handle(ctx, Message{Address: alice, Text: "thanks"}); err != nil || len(res.Replies) != 0 {
		t.Fatalf("quiet turn: %+v %v", res, err)
	}
	close(p.release)
	if got := texts((<-done).Replies); got[len(got)-1] != HandoffNotice {
		t.Fatalf("want the handoff notice, got %q", got)
	}
	clock.Advance(5 * time.Minute)
	if _, err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := p.posted(); n != 1 {
		t.Errorf("the handoff was posted %d times, want once", n)
	}
}

// gatePoster posts successfully; the first attempt waits until release is
// closed.
type gatePoster struct {
	mu      sync.Mutex
	entered chan struct{}
	release chan struct{}
	calls   int
}

func (p *gatePoster) PostHandoff(ctx context.Context, h Handoff) error {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	p.mu.Unlock()
	if first {
		close(p.entered)
		<-p.release
	}
	return nil
}

func (p *gatePoster) posted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// TestCloseOnAnOlderHandoffClosesNothing: the person escalated, restarted
// and escalated again; Close on the first post must not end the second
// handoff. (Found in review.)
func TestCloseOnAnOlderHandoffClosesNothing(t *testing.T) {
	ctx := context.Background()
	clock := newSweepClock()
	poster := &recordingPoster{}
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{}, nil)
	e.SetClock(clock.Now)
	e.SetHandoffPoster("test", poster)
	for _, text := range []string{"hi", "escalate", "restart", "escalate"} {
		clock.Advance(time.Minute)
		if _, err := e.Handle(ctx, Message{Address: alice, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if len(poster.handoffs) != 2 || poster.handoffs[0].Started.Equal(poster.handoffs[1].Started) {
		t.Fatalf("handoffs %+v, want two with different starts", poster.handoffs)
	}
	if _, closed, err := e.CloseHandoff(ctx, alice, poster.handoffs[0].Started); err != nil || closed {
		t.Errorf("Close on the first post = %v, %v; want nothing closed", closed, err)
	}
	if _, closed, err := e.CloseHandoff(ctx, alice, poster.handoffs[1].Started); err != nil || !closed {
		t.Errorf("Close on the current post = %v, %v; want it closed", closed, err)
	}
}
