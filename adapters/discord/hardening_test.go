package discord

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// echoHandler answers every message the way guides echo typed answers
// ("Got it: <answer>."), so whatever the person typed comes back in the
// bot's reply.
var echoHandler = handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
	return bot.Result{Step: "s", Replies: []bot.Reply{{Text: "Got it: " + m.Text + "."}, {Text: "Anything else?", Input: "text"}}}, nil
})

// hostileInputs are things people (or attackers) type.
var hostileInputs = []struct{ name, text string }{
	{"100 KB", strings.Repeat("A very long message @everyone <@&1> [x](https://evil) ", 1900)},
	{"NUL and controls", "a\x00b\x01c\x1b[31mred\x7f\u0085d"},
	{"RTL override", "invoice\u202Egnp.exe \u2066isolate\u2069"},
	{"zero-width", "@\u200beveryone <\u200b@123> a\ufeffb\u2060c"},
	{"only emoji", "🔥🔥👨‍👩‍👧🔥"},
	{"@everyone", "@everyone look"},
	{"@here", "@here look"},
	{"role", "<@&600000000000000001> help"},
	{"user", "<@700000000000000002> and <@!700000000000000002>"},
	{"masked link", "[click](https://evil.example) and [x](<https://evil.example>)"},
	{"code fence and headings", "```\n# heading\n-# small\n> quote\n||spoiler|| ~~strike~~ __under__ `code` \\[esc](http://e)\n```"},
}

func TestHostileInputs(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runBot(t, f, testConfig(f), echoHandler)
	dm := "7700000000000000011"
	answered := 0
	for _, in := range hostileInputs {
		mark := f.Mark()
		f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, in.text, false))
		got := f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
		// Wait for the turn's last message: the one with the type button.
		f.waitFor(in.name+": the whole reply", func() bool {
			for _, c := range f.calls[mark:] {
				if strings.Contains(string(c.Body), "ts1|t|") {
					return true
				}
			}
			return false
		})
		if got.Status != 200 {
			t.Errorf("%s: reply rejected: %d %s", in.name, got.Status, trimText(string(got.Body), 200))
			continue
		}
		var all strings.Builder
		for _, c := range f.callsSince(mark, "POST", "/api/v9/channels/"+dm+"/messages") {
			m := body(t, c)
			assertNoMentions(t, in.name, m)
			all.WriteString(m["content"].(string))
		}
		out := all.String()
		if !strings.HasPrefix(out, "Got it: ") {
			t.Errorf("%s: reply = %q", in.name, trimText(out, 200))
			continue
		}
		for _, bad := range []string{"\x00", "\x1b", "\u202e", "\u2066", "\u200b", "\ufeff", "<@", "[click](", "[x](", "```", "\n# ", "||", "~~", "__"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: reply kept %q: %q", in.name, bad, trimText(out, 300))
			}
		}
		if strings.Contains(strings.ReplaceAll(out, `\@`, ""), "@everyone") || strings.Contains(strings.ReplaceAll(out, `\@`, ""), "@here") {
			t.Errorf("%s: unescaped mass mention in %q", in.name, trimText(out, 300))
		}
		if in.name == "only emoji" && !strings.Contains(out, "👨‍👩‍👧") {
			t.Errorf("emoji mangled: %q", out)
		}
		answered++
	}
	// The same through the modal: its echo in the question is escaped too.
	q := f.lastWithComponents(dm, "ts1|t|"+alice+"|s")
	mark := f.Mark()
	ia := f.submit("", alice, q, "ts1|m|"+alice+"|s|text", "<@&600000000000000001> [x](https://evil) \u202e @everyone")
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	d := cb["data"].(map[string]any)
	assertNoMentions(t, "modal answer", d)
	if c := d["content"].(string); strings.Contains(c, "<@&") || strings.Contains(c, "[x](") || strings.Contains(c, "\u202e") {
		t.Errorf("modal echo = %q", c)
	}
	followupOf(t, f, mark, ia)
	sent, bad := massPings(t, f, nil, nil)
	t.Logf("hostile inputs: %d sent, %d answered, %d mass pings (%d messages checked)", len(hostileInputs), answered, bad, sent)
	if answered != len(hostileInputs) || bad != 0 {
		t.Errorf("%d of %d answered, %d mass pings", answered, len(hostileInputs), bad)
	}
}

// TestRateLimitStormThroughAdapter: the fake answers 429 with retry_after
// for N calls in a row. A short storm is waited out (each retry after
// retry_after, never sooner) and the message arrives; a long one is given
// up after a bounded number of requests with an error, not retried
// forever or in a tight loop. Every failed call reaches the API error
// hook. (TestRateLimitHonoured covers single 429s on registration and
// followups; TestRateLimitStormIsBounded the transport alone.)
func TestRateLimitStormThroughAdapter(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	a, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	var limited, other atomic.Int32
	a.SetAPIErrorHook(func(rateLimited bool) {
		if rateLimited {
			limited.Add(1)
		} else {
			other.Add(1)
		}
	})
	const retryAfter, retryAfterD = 0.15, 150 * time.Millisecond
	dm := bot.Address{Platform: Platform, Channel: "7700000000000000021", User: alice}
	path := "/api/v9/channels/" + dm.Channel + "/messages"

	// A short storm: 2 refusals, then delivered.
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + dm.Channel, Count: 2, RetryAfter: retryAfter})
	t0 := time.Now()
	if err := a.Send(ctxT(t), dm, []bot.Reply{{Text: "hello"}}); err != nil {
		t.Fatalf("short storm: %v", err)
	}
	short := f.callsSince(0, "POST", path)
	if len(short) != 3 || short[2].Status != 200 {
		t.Fatalf("short storm: %d requests:\n%s", len(short), f.dump())
	}
	minGap := time.Hour
	for k := 1; k < len(short); k++ {
		minGap = min(minGap, short[k].At.Sub(short[k-1].At))
	}
	if minGap < retryAfterD {
		t.Errorf("retried after %v, before retry_after %vs", minGap, retryAfter)
	}
	t.Logf("429 storm of 2: %d requests, delivered after %v, shortest gap %v (retry_after %vs)", len(short), time.Since(t0).Round(time.Millisecond), minGap.Round(time.Millisecond), retryAfter)

	// A long storm: given up after maxRateLimitRetries+1 requests.
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + dm.Channel, Count: 50, RetryAfter: retryAfter})
	mark := f.Mark()
	t0 = time.Now()
	err = a.Send(ctxT(t), dm, []bot.Reply{{Text: "hello again"}})
	took := time.Since(t0)
	long := f.callsSince(mark, "POST", path)
	if err == nil || !errors.Is(err, errRateLimited) && !strings.Contains(err.Error(), "rate limited") {
		t.Errorf("long storm: err = %v, want the rate-limit give-up", err)
	}
	if len(long) != maxRateLimitRetries+1 {
		t.Errorf("long storm: %d requests, want %d", len(long), maxRateLimitRetries+1)
	}
	if took < maxRateLimitRetries*retryAfterD {
		t.Errorf("long storm over in %v: retried without waiting", took)
	}
	t.Logf("429 storm of 50: %d requests in %v, then gave up: %v", len(long), took.Round(time.Millisecond), err)
	if limited.Load() != int32(len(short)-1+len(long)) || other.Load() != 0 {
		t.Errorf("API error hook: %d rate limited, %d other; want %d, 0", limited.Load(), other.Load(), len(short)-1+len(long))
	}
	// Other failures reach the hook as not rate limited.
	f.mu.Lock()
	f.limits = nil
	f.mu.Unlock()
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + dm.Channel, Count: 1, Status: 403})
	if err := a.Send(ctxT(t), dm, []bot.Reply{{Text: "x"}}); err == nil || other.Load() != 1 {
		t.Errorf("403: err %v, hook saw %d other failures", err, other.Load())
	}
	t.Logf("API error hook: %d rate-limited, %d other failures reported", limited.Load(), other.Load())
	a.SetAPIErrorHook(nil)
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
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, eng) }()
	t.Cleanup(func() { cancel(); <-done })
	f.waitConnected(1)

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

// TestOtherUsersInThreadAreIgnored: after a restart the process does not
// know whose thread it is; it finds out from the thread's starter message
// and ignores everyone else's messages there, mentions included.
func TestOtherUsersInThreadAreIgnored(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	cfg := testConfig(f)
	cfg.MessageContent = true
	_, stop := runBot(t, f, cfg, eng)
	thread, _ := startThread(t, f)
	stop()
	runBot(t, f, cfg, eng)

	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, staff, "let me help", false))
	f.waitCall(mark, "GET", "/api/v9/channels/"+testChannel+"/messages/"+thread)
	time.Sleep(50 * time.Millisecond)
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, staff, "<@"+f.botID+"> restart", true))
	time.Sleep(150 * time.Millisecond)
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "on", false))
	got := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages"))
	if !strings.Contains(got["content"].(string), "How big") {
		t.Errorf("owner's answer = %q", got["content"])
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/*/messages")); n != 1 {
		t.Errorf("%d replies, want 1 (staff ignored):\n%s", n, f.dump())
	}
	// The owner was learned from the starter message, once.
	if n := len(f.callsSince(mark, "GET", "/api/v9/channels/"+testChannel+"/messages/"+thread)); n != 1 {
		t.Errorf("%d starter message lookups, want 1", n)
	}

	// A thread started from the person's own mention: the owner is its
	// author.
	_, stop2 := runBot(t, f, cfg, eng)
	msg := f.messageCreate(testGuild, testChannel, bob, "<@"+f.botID+"> help", true)
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", msg)
	thr := f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads")
	bobThread := strings.Split(thr.Path, "/")[6]
	f.waitCall(mark, "POST", "/api/v9/channels/"+bobThread+"/messages")
	stop2()
	runBot(t, f, cfg, eng)
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, bobThread, alice, "off", false))
	time.Sleep(100 * time.Millisecond)
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, bobThread, bob, "off", false))
	got = body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+bobThread+"/messages"))
	if !strings.Contains(got["content"].(string), "Turn the WhatsApp switch on") {
		t.Errorf("bob's answer = %q", got["content"])
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/*/messages")); n != 1 {
		t.Errorf("%d replies in bob's thread, want 1:\n%s", n, f.dump())
	}
}
