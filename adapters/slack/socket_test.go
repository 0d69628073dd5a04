package slack

import (
	"context"
	"testing"
	"time"

	"troubleshooter/bot"
)

// TestSocketReconnect: after a refresh_requested disconnect the client
// reconnects and the conversation goes on over the new connection.
func TestSocketReconnect(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	st := e.tr.(*socketTransport)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "whatsapp backup fails")), 0)
	q, i := e.fake.waitFor(0, "the first question", isPost("D1", ""))
	if err := st.c().write(map[string]any{"type": "disconnect", "reason": "refresh_requested",
		"debug_info": map[string]any{"host": "fake-1"}}); err != nil {
		t.Fatal(err)
	}
	st.conn.Store(e.fake.conn())
	next, _ := e.answer(q, "click:on", "U1", i+1)
	wantStep(t, next, "backup_size", "after reconnect")
}

// TestSocketPingsKeepConnection: with a short ping interval the client
// stays on its first connection because the fake pings; no reconnects.
func TestSocketPingsKeepConnection(t *testing.T) {
	fake := newFakeSlack(t)
	ad, err := New(Config{BotToken: "xoxb-x", AppToken: "xapp-x", APIURL: fake.APIURL()}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ad.pingInterval = time.Second
	ctx, cancel := context.WithCancel(ctxFor(t, 20*time.Second))
	done := make(chan error, 1)
	go func() {
		done <- ad.Run(ctx, bot.NewEngine(bot.NewMemoryStore(), testRunner(t), bot.EngineConfig{}, nil))
	}()
	fake.conn()
	time.Sleep(2500 * time.Millisecond)
	if n := fake.count(isMethod("apps.connections.open")); n != 1 {
		t.Errorf("%d connections in 2.5 s with a 1 s ping timeout and pings every 50 ms, want 1", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
