package throttle

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

type countHandler struct{ n atomic.Int32 }

func (c *countHandler) Handle(context.Context, bot.Message) (bot.Result, error) {
	c.n.Add(1)
	return bot.Result{Replies: []bot.Reply{{Text: "ok"}}}, nil
}

func TestFloodIsThrottledPolitelyOthersUnaffected(t *testing.T) {
	next := &countHandler{}
	h := New(next, Config{PerMinute: 60, Burst: 5})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	flooder := bot.Message{Address: bot.Address{Platform: "slack", Workspace: "T1", Channel: "C1", User: "U1"}}
	ctx := context.Background()
	notices, silent := 0, 0
	for i := range 100 {
		m := flooder
		m.Address.Channel = []string{"C1", "C2"}[i%2] // across channels still one person
		res, err := h.Handle(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(res.Replies) == 0:
			silent++
		case res.Replies[0].Text == Notice:
			notices++
		}
	}
	if got := next.n.Load(); got != 5 {
		t.Errorf("%d of 100 instant messages reached the engine, want the burst of 5", got)
	}
	if notices != 1 || silent != 94 {
		t.Errorf("%d notices and %d silent drops, want 1 and 94", notices, silent)
	}
	t.Logf("flood: 100 messages in one instant from one person: %d handled, %d polite notice, %d dropped silently", next.n.Load(), notices, silent)
	other := bot.Message{Address: bot.Address{Platform: "slack", Workspace: "T1", Channel: "C1", User: "U2"}}
	if res, _ := h.Handle(ctx, other); len(res.Replies) != 1 || res.Replies[0].Text != "ok" {
		t.Errorf("another person was affected: %+v", res)
	}
	now = now.Add(2 * time.Second) // refills two tokens at 1/s
	for range 2 {
		if res, _ := h.Handle(ctx, flooder); len(res.Replies) != 1 || res.Replies[0].Text != "ok" {
			t.Errorf("after a pause the person is still throttled: %+v", res)
		}
	}
	if res, _ := h.Handle(ctx, flooder); len(res.Replies) != 1 || res.Replies[0].Text != Notice {
		t.Errorf("a new flood after a pause gets no notice: %+v", res)
	}
}

func TestIdleBucketsAreEvicted(t *testing.T) {
	h := New(&countHandler{}, Config{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	for i := range 100 {
		if _, err := h.Handle(context.Background(), bot.Message{Address: bot.Address{Platform: "p", User: string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(idleEvict + 2*time.Minute)
	if _, err := h.Handle(context.Background(), bot.Message{Address: bot.Address{Platform: "p", User: "late"}}); err != nil {
		t.Fatal(err)
	}
	if len(h.people) != 1 {
		t.Errorf("%d buckets kept after everyone went idle, want 1", len(h.people))
	}
}

type currentHandler struct{ countHandler }

func (*currentHandler) Current(context.Context, bot.Address) (bot.Result, error) {
	return bot.Result{Step: "waiting"}, nil
}

func TestCurrentPassesThrough(t *testing.T) {
	res, err := New(&currentHandler{}, Config{}).Current(context.Background(), bot.Address{})
	if err != nil || res.Step != "waiting" {
		t.Errorf("Current through the wrapper = %+v, %v", res, err)
	}
	res, err = New(&countHandler{}, Config{}).Current(context.Background(), bot.Address{})
	if err != nil || res.Step != "" {
		t.Errorf("Current without one underneath = %+v, %v", res, err)
	}
}

func TestClaimPassesThrough(t *testing.T) {
	e := bot.NewEngine(bot.NewMemoryStore(), nil, bot.EngineConfig{}, nil)
	h := New(e, Config{})
	ctx := context.Background()
	first, err := h.Claim(ctx, "slash:1", time.Minute)
	if err != nil || !first {
		t.Fatalf("first claim = %v, %v", first, err)
	}
	if again, err := h.Claim(ctx, "slash:1", time.Minute); err != nil || again {
		t.Errorf("second claim through the throttle = %v, %v; want the engine's answer (already claimed)", again, err)
	}
	if first, err := New(&countHandler{}, Config{}).Claim(ctx, "x", time.Minute); err != nil || !first {
		t.Errorf("without a Claimer underneath = %v, %v; want first", first, err)
	}
}
