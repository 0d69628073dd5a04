package discord

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

func TestBadTokenFailsRun(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	cfg := testConfig(f)
	cfg.Token = "wrong"
	a, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := testEngine(t)
	err = a.Run(ctxT(t), eng)
	if err == nil || !strings.Contains(err.Error(), "refused the bot token") || !strings.Contains(err.Error(), "DISCORD_TOKEN") {
		t.Errorf("Run with a bad token = %v", err)
	}
}

func TestShardIdentify(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	cfg := testConfig(f)
	cfg.ShardID, cfg.ShardCount, cfg.GuildIDs = 1, 2, nil
	runBot(t, f, cfg, eng)
	f.mu.Lock()
	shard, _ := json.Marshal(f.identifies[0]["shard"])
	f.mu.Unlock()
	if string(shard) != "[1,2]" {
		t.Errorf("identify shard = %s, want [1,2]", shard)
	}
	// Without guild_ids the command is registered globally.
	f.waitCall(0, "PUT", "/api/v9/applications/"+f.appID+"/commands")
}

func TestShutdownFinishesTurnsInFlight(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		close(entered)
		<-release
		return bot.Result{Step: "s", Replies: []bot.Reply{{Text: "done in time"}}}, ctx.Err()
	})
	a, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	f.waitConnected(1)
	dm := "7700000000000000008"
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "hello", false))
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) with a turn in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if m := body(t, f.waitCall(0, "POST", "/api/v9/channels/"+dm+"/messages")); m["content"] != "done in time" {
		t.Errorf("reply = %v", m)
	}
	// The gateway connection was closed.
	f.waitFor("the gateway connection to close", func() bool { return len(f.conns) == 0 })
}

func TestPanickingHandlerDoesNotKillTheBot(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	var calls atomic.Int32
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		if calls.Add(1) == 1 {
			panic("guide bug")
		}
		return bot.Result{Step: "s", Replies: []bot.Reply{{Text: "still here"}}}, nil
	})
	runBot(t, f, testConfig(f), h)
	dm := "7700000000000000009"
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "first", false))
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "second", false))
	if m := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")); m["content"] != "still here" {
		t.Errorf("after a panic = %v", m)
	}
}

func TestSendNotices(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	a, err := New(testConfig(f), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	// A thread conversation: to the thread; a reminder in the person's own
	// conversation pings no one (discord.ping: first), and is worded for
	// what they can do without the Message Content intent.
	th := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, Thread: "800000000000000077", User: alice}
	if err := a.Send(ctx, th, []bot.Reply{{Text: bot.NudgeNotice}}); err != nil {
		t.Fatal(err)
	}
	m := body(t, f.waitCall(0, "POST", "/api/v9/channels/800000000000000077/messages"))
	if m["content"] != "Still there? Answer the question above with its buttons to continue, or use **/troubleshoot stop** to end." {
		t.Errorf("nudge = %q", m["content"])
	}
	assertNoMentions(t, "nudge", m)
	// A DM: no mention; choices are not turned into dead buttons.
	dm := bot.Address{Platform: Platform, Channel: "7700000000000000001", User: alice}
	mark := f.Mark()
	if err := a.Send(ctx, dm, []bot.Reply{{Text: "closed", Choices: []bot.Choice{{ID: "x", Label: "X"}}, Done: true}}); err != nil {
		t.Fatal(err)
	}
	m = body(t, f.waitCall(mark, "POST", "/api/v9/channels/7700000000000000001/messages"))
	if m["content"] != "closed" || len(ids(m)) != 0 {
		t.Errorf("dm notice = %v", m)
	}
	assertNoMentions(t, "dm notice", m)
	// Nothing to say sends nothing; bad addresses and cancelled contexts
	// are errors.
	mark = f.Mark()
	if err := a.Send(ctx, dm, []bot.Reply{{Text: "  "}}); err != nil || f.Mark() != mark {
		t.Errorf("empty send: %v, %d calls", err, f.Mark()-mark)
	}
	// (Bad addresses are undeliverable: the outbox drops them; a
	// cancelled send is tried again.)
	if err := a.Send(ctx, bot.Address{Platform: "slack", Channel: "C1"}, []bot.Reply{{Text: "x"}}); !errors.Is(err, bot.ErrUndeliverable) {
		t.Errorf("sent to a Slack address: %v; want bot.ErrUndeliverable", err)
	}
	if err := a.Send(ctx, bot.Address{Platform: Platform, User: alice}, []bot.Reply{{Text: "x"}}); !errors.Is(err, bot.ErrUndeliverable) {
		t.Errorf("sent without a channel: %v; want bot.ErrUndeliverable", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Send(cctx, dm, []bot.Reply{{Text: "x"}}); err == nil || errors.Is(err, bot.ErrUndeliverable) {
		t.Errorf("sent with a cancelled context: %v; want a transient error", err)
	}
}

// TestSweeperNudgesThroughSend runs the engine's sweeper with the adapter
// as its sender.
func TestSweeperNudgesThroughSend(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng := handoffEngine(t)
	now := time.Now()
	eng.SetClock(func() time.Time { return now })
	a, _ := runBot(t, f, handoffConfig(f), eng)
	eng.SetSender(Platform, a)
	dm := "7700000000000000005"
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "hi", false))
	f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
	time.Sleep(50 * time.Millisecond)
	now = now.Add(time.Hour)
	mark = f.Mark()
	st, err := eng.Sweep(ctxT(t))
	if err != nil || st.Nudged != 1 {
		t.Fatalf("sweep = %+v, %v", st, err)
	}
	if m := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")); m["content"] != lightToDiscord(bot.NudgeNotice) {
		t.Errorf("nudge = %q", m["content"])
	}
}

// TestSecretsNeverLeak runs conversations, failures included, with a
// known token and captures the debug log and every request body: neither
// the bot token nor any interaction token may appear.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := handoffEngine(t)
	cfg := handoffConfig(f)
	a, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	eng.SetHandoffPoster(Platform, a)
	runAdapter(t, f, a, eng)

	thread := escalate(t, f, "3 GB")
	// Failures that log: an interaction answered too late (with an
	// unknown custom id) and a failed handoff close. (The click on the
	// handed-off conversation's old question is passed to the engine,
	// which stays quiet: no followup is sent, so none fails.)
	f.limit(fakeLimit{Method: "POST", Prefix: "/webhooks/", Count: 2, Status: 404})
	q := f.lastWithComponents(thread, "ts1|")
	ia := f.click(testGuild, alice, q, "ts1|c|"+alice+"|fix_update@1|fixed")
	f.dispatch("INTERACTION_CREATE", ia)
	late := f.click(testGuild, alice, q, "junk")
	f.mu.Lock()
	x := f.interactions[late["id"].(string)]
	x.Created = time.Now().Add(-time.Minute)
	f.interactions[x.ID] = x
	f.mu.Unlock()
	f.dispatch("INTERACTION_CREATE", late)
	post := f.lastWithComponents(supportChannel, "ts1|x|")
	f.limit(fakeLimit{Method: "PATCH", Prefix: "/webhooks/", Count: 5, Status: 404})
	cl := asStaff(f.click(testGuild, staff, post, ids(post)[0]), supportRole)
	f.dispatch("INTERACTION_CREATE", cl)
	// Logs are written after the REST calls that fail, so poll the log
	// itself rather than wait on the fake.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s := logs.String(); strings.Count(s, "level=ERROR") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failures were not logged:\n%s\nREST calls:\n%s", logs.String(), f.dump())
		}
	}
	time.Sleep(200 * time.Millisecond)
	if testing.Verbose() {
		t.Logf("captured log:\n%s", logs.String())
	}

	secrets := []string{fakeToken}
	f.mu.Lock()
	for _, ia := range f.interactions {
		secrets = append(secrets, ia.Token)
	}
	f.mu.Unlock()
	out := logs.String()
	leaks := 0
	for _, s := range secrets {
		if strings.Contains(out, s) {
			leaks++
			t.Errorf("secret %q in the log", s)
		}
		for _, c := range f.Calls() {
			if strings.Contains(string(c.Body), s) {
				leaks++
				t.Errorf("secret %q in the body of %s %s", s, c.Method, c.Path)
			}
		}
	}
	t.Logf("secrets: %d checked (bot token + %d interaction tokens) in %d log bytes (%d lines) and %d request bodies: %d leaks",
		len(secrets), len(secrets)-1, len(out), strings.Count(out, "\n"), len(f.Calls()), leaks)
}

func TestRewriteTransport(t *testing.T) {
	var seen string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.URL.String()
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
	})
	base, _ := url.Parse("http://127.0.0.1:9/proxy/")
	rt := rewriteTransport(base, next)
	req, _ := http.NewRequest("GET", "https://discord.com/api/v9/gateway", nil)
	if _, err := rt.RoundTrip(req); err != nil || seen != "http://127.0.0.1:9/proxy/api/v9/gateway" {
		t.Errorf("rewrote to %q, %v", seen, err)
	}
	req, _ = http.NewRequest("GET", "https://cdn.example/x", nil)
	if _, _ = rt.RoundTrip(req); seen != "https://cdn.example/x" {
		t.Errorf("other hosts must pass through, got %q", seen)
	}
}
