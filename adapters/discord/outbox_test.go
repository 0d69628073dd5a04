package discord

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/bot"
)

// crashAfterSave is a handler that applies messages through the engine
// (the turn and its outbox entry are saved) but then reports nothing to
// the adapter, as if the process died between the save and the post.
type crashAfterSave struct {
	e     *bot.Engine
	saved atomic.Int32
}

func (c *crashAfterSave) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	res, err := c.e.Handle(ctx, m)
	if err == nil && res.Outbox != "" {
		c.saved.Add(1)
	}
	return bot.Result{Duplicate: true}, err
}

// TestOutboxAcrossRestart: on a platform that keeps an outbox, a DM turn
// whose replies were sent is confirmed (the session's outbox is empty);
// the replies of a turn saved but never sent (the process "died" between
// the save and the post) are sent into the person's DM by the sweeper of
// the next process, over the same bolt file, once, and confirmed.
func TestOutboxAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	f := newFakeDiscord(t)
	dm := "7700000000000000011"
	addr := bot.Address{Platform: Platform, Channel: dm, User: alice}
	outbox := func(st bot.Store) int {
		s, err := st.Load(ctxT(t), addr.Key())
		if err != nil || s == nil {
			t.Fatalf("load: %+v %v", s, err)
		}
		return len(s.Outbox)
	}
	newEngine := func(st bot.Store, a *Adapter) *bot.Engine {
		e := bot.NewEngine(st, testFlow{}, bot.EngineConfig{}, nil)
		e.KeepOutbox(Platform, 300*time.Millisecond)
		e.SetSender(Platform, a)
		return e
	}

	// First process: one turn sent and confirmed, one saved and "lost".
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(st, a)
	runAdapter(t, f, a, eng)
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "hi, my whatsapp backup fails", false))
	f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
	deadline := time.Now().Add(5 * time.Second)
	for outbox(st) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := outbox(st); n != 0 {
		t.Fatalf("%d outbox entries after the replies were sent, want 0 (confirmed)", n)
	}

	a2, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	crash := &crashAfterSave{e: eng}
	runAdapter(t, f, a2, crash)
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "3 GB", false))
	for crash.saved.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/"+dm+"/messages")); n != 0 || crash.saved.Load() != 1 {
		t.Fatalf("the lost turn: %d saved, %d posts; want 1 saved and nothing posted", crash.saved.Load(), n)
	}
	if n := outbox(st); n != 1 {
		t.Fatalf("%d outbox entries after a turn saved but not sent, want 1", n)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Next process over the same file: its sweeper sends the reply, once.
	st, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	a3, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	eng = newEngine(st, a3)
	runAdapter(t, f, a3, eng)
	time.Sleep(350 * time.Millisecond) // past the outbox delay
	for range 3 {
		if _, err := eng.Sweep(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	posts := f.callsSince(mark, "POST", "/api/v9/channels/"+dm+"/messages")
	if len(posts) != 1 || !strings.Contains(body(t, posts[0])["content"].(string), "allowed to use iCloud") {
		t.Fatalf("after the restart the sweeper sent %d messages to the DM, want the lost reply once: %s", len(posts), f.dump())
	}
	if n := outbox(st); n != 0 {
		t.Errorf("%d outbox entries after the sweeper sent them, want 0", n)
	}
	t.Logf("a DM turn saved but not sent before a restart: sent by the next process's sweeper once, into the DM; outbox empty")
}
