package discord

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// stallingEngine is the engine with a turn that never reaches its save
// while stalling is set: Handle waits until the process "crashes" (crash
// is closed) or its context ends, and returns without touching the store,
// as a process killed mid-turn would. Everything else (Current, Claim,
// Delivered) is the engine's.
type stallingEngine struct {
	*bot.Engine
	stalling atomic.Bool
	crash    chan struct{}
	entered  chan struct{}
}

func (s *stallingEngine) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	if !s.stalling.Load() {
		return s.Engine.Handle(ctx, m)
	}
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.crash:
		return bot.Result{}, errors.New("the process died before the save")
	case <-ctx.Done():
		return bot.Result{}, ctx.Err()
	}
}

// TestHTTPAckNeverBeforeSave: Discord never redelivers an interaction, so
// an HTTP interaction's initial response may promise a reply (a deferred
// response, or a click shown answered) only once the turn that makes the
// reply is saved with its outbox entry. Two turns here never reach their
// save, and the process "crashes" the moment the initial response is
// written: a /troubleshoot start in a DM whose save is slower than
// Discord's 3 seconds allow, and a click after a restart (the process
// does not know the question is live, so it marks it answered by a
// separate edit). A second process over the same store then sweeps the
// outbox. Each interaction must have been answered: either its initial
// response is itself the answer (an ephemeral "try again"), or its reply
// is posted. Before the fix, the 2-second fallback acknowledged the first
// and the click's "answered" edit acknowledged the second at once; both
// replies were lost.
func TestHTTPAckNeverBeforeSave(t *testing.T) {
	f := newFakeDiscord(t)
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(f)
	cfg.HTTPInteractions, cfg.PublicKey = true, hex.EncodeToString(pub)
	newEngine := func() *bot.Engine {
		e := bot.NewEngine(st, testFlow{}, bot.EngineConfig{}, nil)
		e.KeepOutbox(Platform, 300*time.Millisecond)
		return e
	}
	// process is one bot process: an adapter serving HTTP interactions
	// through a stallingEngine over the shared store.
	process := func() (*Adapter, *stallingEngine, *httpBot) {
		a, err := New(cfg, testLog(t))
		if err != nil {
			t.Fatal(err)
		}
		se := &stallingEngine{Engine: newEngine(), crash: make(chan struct{}), entered: make(chan struct{}, 1)}
		se.SetSender(Platform, a)
		mux := http.NewServeMux()
		mux.Handle(InteractionsPath, a.InteractionsHandler(se))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return a, se, &httpBot{f: f, a: a, srv: srv, priv: priv}
	}
	type promise struct {
		name, token, channel, want string
		code, typ                  int
		content                    string
	}
	var promises []promise
	// crashAtResponse posts ia to b while its turn stalls, and crashes the
	// process as soon as the initial response is written.
	crashAtResponse := func(name string, b *httpBot, se *stallingEngine, ia map[string]any, want string) {
		se.stalling.Store(true)
		start := time.Now()
		code, resp := b.post(t, mustJSON(t, ia), now(), b.priv, nil)
		close(se.crash)
		d, _ := resp["data"].(map[string]any)
		content, _ := d["content"].(string)
		t.Logf("%s: initial response %d type %d after %v: %q", name, code, num(resp["type"]), time.Since(start).Round(10*time.Millisecond), content)
		promises = append(promises, promise{name: name, token: ia["token"].(string), channel: ia["channel_id"].(string),
			want: want, code: code, typ: num(resp["type"]), content: content})
	}

	// A /troubleshoot start in a DM whose turn is not saved in time.
	_, se, b := process()
	crashAtResponse("slow save", b, se, f.overHTTP(f.slash("", "7700000000000000031", alice)), "allowed to use iCloud")

	// A question answered in process 2, clicked in process 3 (a restart:
	// it does not know the question is live), whose turn stalls.
	_, se, b = process()
	dm := "7700000000000000032"
	ia := f.overHTTP(f.slash("", dm, bob))
	if code, _ := b.post(t, mustJSON(t, ia), now(), b.priv, nil); code != 200 {
		t.Fatalf("start: %d", code)
	}
	q := f.lastWithComponents(dm, "ts1|c|"+bob+"|icloud@1")
	_, se, b = process()
	crashAtResponse("click after a restart", b, se, f.overHTTP(f.click("", bob, q, "ts1|c|"+bob+"|icloud@1|on")), "How big")

	// The next process's sweeper posts whatever was saved and not sent.
	a, _, _ := process()
	eng := newEngine()
	eng.SetSender(Platform, a)
	time.Sleep(350 * time.Millisecond) // past the outbox delay
	for range 3 {
		if _, err := eng.Sweep(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range promises {
		answeredInPlace := p.code == 200 && p.typ == 4 && p.content != ""
		posted := 0
		for _, c := range f.Calls() {
			if (strings.Contains(c.Path, p.token) || strings.Contains(c.Path, "/channels/"+p.channel+"/messages")) &&
				strings.Contains(string(c.Body), p.want) {
				posted++
			}
		}
		switch {
		case p.code != 200:
			t.Logf("%s: refused (%d): Discord tells the person it failed", p.name, p.code)
		case answeredInPlace:
			t.Logf("%s: answered in the initial response itself", p.name)
		case posted == 0:
			t.Errorf("%s: acknowledged (type %d) before its turn was saved, and its reply was never posted: lost", p.name, p.typ)
		}
	}
}
