package slack

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

var modes = []string{ModeSocket, ModeHTTP}

// TestConversationResolved runs the whole guide to "resolved" through each
// mode: slash command → thread → clicks → typed sizes and versions.
func TestConversationResolved(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			final, thread := e.converse(resolvedScript)
			if got := e.outcome(thread); got != bot.OutcomeResolved {
				t.Errorf("outcome %q, want resolved; final post %q", got, textOf(t, final))
			}
			e.fake.waitFor(0, "the ended note", func(c apiCall) bool {
				return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "This conversation has ended")
			})
			for _, step := range []string{"icloud_access", "backup_size", "free_space", "ios_version", "whatsapp_version"} {
				if !slices.Contains(e.visited, step) {
					t.Errorf("the conversation never asked %s (asked %v)", step, e.visited)
				}
			}
			// Every post after the root is in the thread, with light
			// markdown converted.
			calls, _ := e.fake.snapshot()
			for _, c := range calls {
				if c.Method != "chat.postMessage" || c.Form.Get("thread_ts") == "" {
					continue
				}
				if c.Form.Get("thread_ts") != thread {
					t.Errorf("post in thread %q, want %q", c.Form.Get("thread_ts"), thread)
				}
				if strings.Contains(textOf(t, c), "**") {
					t.Errorf("light markdown not converted: %q", textOf(t, c))
				}
			}
		})
	}
}

// TestConversationEscalated runs the guide through every fix to the
// hand-over, through each mode.
func TestConversationEscalated(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			final, thread := e.converse(escalationScript)
			if got := e.outcome(thread); got != bot.OutcomeEscalated {
				t.Errorf("outcome %q, want escalated; final post %q", got, textOf(t, final))
			}
			if len(e.visited) < 8 {
				t.Errorf("escalated after only %v", e.visited)
			}
		})
	}
}

// TestDMConversationIsFlat: a DM conversation has no thread.
func TestDMConversationIsFlat(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "my whatsapp backup to icloud keeps failing")), 0)
			q, i := e.fake.waitFor(0, "a DM reply", isPost("D1", ""))
			btns := buttonsOf(t, q)
			if len(btns) == 0 || btns[0].Ref.Thread != "" || btns[0].Ref.User != "U1" {
				t.Fatalf("DM question buttons = %+v", btns)
			}
			next, _ := e.answer(q, "click:on", "U1", i+1)
			if got := stepOf(t, next); got != "backup_size" {
				t.Errorf("after the click: step %q, %q", got, textOf(t, next))
			}
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "3 GB")), 0)
			e.fake.waitFor(i+2, "the question after the typed size", func(c apiCall) bool {
				return isPost("D1", "")(c) && stepOf(t, c) == "free_space"
			})
		})
	}
}

// TestMentionStartsThread: a mention in a channel starts a conversation in
// a thread under the mention; a thread reply by the starter continues it.
func TestMentionStartsThread(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			ts := e.ts()
			ev := map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOT> my whatsapp backup to icloud keeps failing",
				"ts": ts, "channel": "C2", "event_ts": ts}
			e.tr.event(t, eventPayload(e.id("Ev"), ev), 0)
			q, i := e.fake.waitFor(0, "reply in the mention's thread", isPost("C2", ts))
			next, from := e.answer(q, "click:on", "U1", i+1)
			next, _ = e.answer(next, "3 GB", "U1", from)
			if got := stepOf(t, next); got != "free_space" {
				t.Errorf("typed size not taken: step %q, %q", got, textOf(t, next))
			}
		})
	}
}

// TestRetriesProduceOneReply: the same event delivered three times (HTTP
// retries with X-Slack-Retry-Num; Socket Mode redelivery with the same
// envelope) gets one reply.
func TestRetriesProduceOneReply(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			p := eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "my whatsapp backup to icloud keeps failing"))
			for retry := range 3 {
				e.tr.event(t, p, retry)
			}
			e.fake.waitFor(0, "the reply", isPost("D1", ""))
			// Let any second reply arrive before counting.
			time.Sleep(300 * time.Millisecond)
			if n := e.fake.count(isPost("D1", "")); n != 1 {
				t.Errorf("%d replies to one event delivered three times, want 1", n)
			}
		})
	}
}

// TestRetryAfterRestartIsDeduped: a redelivery reaching a new process is
// caught by the engine's durable dedupe (the event id is the Message id).
func TestRetryAfterRestartIsDeduped(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	p := eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "my whatsapp backup to icloud keeps failing"))
	e.tr.event(t, p, 0)
	e.fake.waitFor(0, "the reply", isPost("D1", ""))
	e.stop()
	e2 := newEnv(t, ModeHTTP, e.fake, e.store)
	e2.tr.event(t, p, 1)
	time.Sleep(300 * time.Millisecond)
	if n := e.fake.count(isPost("D1", "")); n != 1 {
		t.Errorf("%d replies after a redelivery to a restarted process, want 1", n)
	}
}

// TestClickAfterRestart: a button posted before a restart still works.
func TestClickAfterRestart(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			e.stop()
			e2 := newEnv(t, mode, e.fake, e.store)
			next, from := e2.answer(q, "click:on", "U1", from)
			if got := stepOf(t, next); got != "backup_size" {
				t.Errorf("after a click across a restart: step %q, %q", got, textOf(t, next))
			}
			// And the typed answer in the thread is followed by the new
			// process, which never saw the thread start.
			next, _ = e2.answer(next, "3 GB", "U1", from)
			if got := stepOf(t, next); got != "free_space" {
				t.Errorf("typed answer after restart: step %q, %q", got, textOf(t, next))
			}
		})
	}
}

// TestStaleClick: a click on an already answered question gets an
// ephemeral note with the current question, changes nothing and posts
// nothing in the thread.
func TestStaleClick(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			next, from := e.answer(q, "click:on", "U1", from)
			posts := e.fake.count(isPost("C1", q.Form.Get("thread_ts")))
			var off button
			for _, b := range buttonsOf(t, q) {
				if b.Ref.Choice == "off" {
					off = b
				}
			}
			e.tr.click(t, clickPayload(t, q, off, "U1", e.id("trigger")))
			eph, _ := e.fake.waitFor(from, "the ephemeral stale note", isEphemeral("C1", "U1"))
			if got := stepOf(t, eph); got != "backup_size" {
				t.Errorf("stale note shows step %q, want the current question: %q", got, textOf(t, eph))
			}
			if eph.Form.Get("thread_ts") != q.Form.Get("thread_ts") {
				t.Errorf("stale note thread = %q", eph.Form.Get("thread_ts"))
			}
			time.Sleep(200 * time.Millisecond)
			if n := e.fake.count(isPost("C1", q.Form.Get("thread_ts"))); n != posts {
				t.Errorf("a stale click posted %d messages in the thread", n-posts)
			}
			// The conversation is still on the size question.
			after, _ := e.answer(next, "3 GB", "U1", from)
			if got := stepOf(t, after); got != "free_space" {
				t.Errorf("after a stale click the size was not taken: step %q, %q", got, textOf(t, after))
			}
		})
	}
}

// TestClickByAnotherUser: only the starter can answer; others get an
// ephemeral note and nothing changes.
func TestClickByAnotherUser(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			btns := buttonsOf(t, q)
			e.tr.click(t, clickPayload(t, q, btns[0], "U2", e.id("trigger")))
			eph, _ := e.fake.waitFor(from, "the note to U2", isEphemeral("C1", "U2"))
			if got := textOf(t, eph); !strings.Contains(got, "<@U1>") || !strings.Contains(got, "only they can answer") {
				t.Errorf("note to another user = %q", got)
			}
			// A thread reply by U2 is not taken as an answer either.
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "C1", q.Form.Get("thread_ts"), e.ts(), "3 GB")), 0)
			// U1's click still works on the untouched question.
			next, _ := e.answer(q, "click:on", "U1", from)
			if got := stepOf(t, next); got != "backup_size" {
				t.Errorf("U1's click after U2's: step %q, %q", got, textOf(t, next))
			}
			if n := e.fake.count(func(c apiCall) bool { return c.Method == "chat.update" }); n != 1 {
				t.Errorf("%d chat.update calls, want 1 (only U1's click)", n)
			}
			if n := e.fake.count(isPost("C1", q.Form.Get("thread_ts"))); n != 2 {
				t.Errorf("%d posts in the thread, want 2 (first question, answer to U1)", n)
			}
		})
	}
}

// TestNoiseIgnored: the bot's own messages, other bots, and message
// subtypes get no reply; top-level channel chatter neither.
func TestNoiseIgnored(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			text := "my whatsapp backup to icloud keeps failing"
			own := messageEvent("UBOT", "D1", "", e.ts(), text)
			otherBot := messageEvent("U9", "D1", "", e.ts(), text)
			otherBot["bot_id"] = "B9"
			otherBot["subtype"] = "bot_message"
			edit := messageEvent("U1", "D1", "", e.ts(), text)
			edit["subtype"] = "message_changed"
			join := messageEvent("U1", "C1", "", e.ts(), "<@U1> has joined the channel")
			join["subtype"] = "channel_join"
			del := messageEvent("U1", "D1", "", e.ts(), "")
			del["subtype"] = "message_deleted"
			chatter := messageEvent("U1", "C1", "", e.ts(), text)
			threadChatter := messageEvent("U3", "C1", "1699999999.000001", e.ts(), text)
			ownBotID := messageEvent("U1", "D1", "", e.ts(), text)
			ownBotID["bot_id"] = "BBOT"
			for _, ev := range []map[string]any{own, otherBot, edit, join, del, chatter, threadChatter, ownBotID} {
				e.tr.event(t, eventPayload(e.id("Ev"), ev), 0)
			}
			// A real message afterwards is answered, and it is the only post.
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D2", "", e.ts(), text)), 0)
			e.fake.waitFor(0, "the reply to the real message", isPost("D2", ""))
			time.Sleep(200 * time.Millisecond)
			if n := e.fake.count(func(c apiCall) bool { return c.Method == "chat.postMessage" }); n != 1 {
				calls, _ := e.fake.snapshot()
				t.Errorf("%d posts, want 1:%s", n, describe(calls))
			}
		})
	}
}

// TestEscapedEcho: what a person types cannot become a mention or a
// broadcast when echoed.
func TestEscapedEcho(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	// Slack sends typed < > & escaped; a crafted client could send raw.
	root, _, _ := e.start("U1", "C1", "help <!channel> <!here> <@U2> &lt;!everyone&gt; & more")
	got := root.Form.Get("text")
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U2>"} {
		if strings.Contains(got, bad) {
			t.Errorf("root post %q contains %q", got, bad)
		}
	}
	if !strings.Contains(got, "&lt;!channel&gt;") || !strings.Contains(got, "&amp; more") {
		t.Errorf("root post %q is not escaped", got)
	}
}

// TestRateLimitHonoured: a 429 with Retry-After: 1 from the fake delays the
// retry by at least a second, and the message is then posted once.
func TestRateLimitHonoured(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	e.fake.limit("chat.postMessage", 1)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "whatsapp backup fails")), 0)
	ok, _ := e.fake.waitFor(0, "the post after the 429", isPost("D1", ""))
	limited, _ := e.fake.waitFor(0, "the 429", func(c apiCall) bool { return c.Status == 429 })
	if d := ok.At.Sub(limited.At); d < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", d)
	}
	if n := e.fake.count(isPost("D1", "")); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

// TestRateLimitStorm: the fake answers 429 (Retry-After: 1) to the next 6
// posts while two conversations talk. Every retry waits out Retry-After
// (no tight loop: the requests are bounded and spaced), the pause holds
// for every channel, a post is given up after maxRetries429 retries, the
// next one gets through once the storm ends, and the API error hook hears
// each 429.
func TestRateLimitStorm(t *testing.T) {
	const storm = 6
	var hooked atomic.Int64
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}, tune: func(a *Adapter) {
		a.SetAPIErrorHook(func(rl bool) {
			if rl {
				hooked.Add(1)
			}
		})
	}})
	start := time.Now()
	e.fake.limit("chat.postMessage", storm)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "first")), 0)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "D2", "", e.ts(), "second")), 0)
	// After the storm, each conversation speaks once more: both get through.
	e.fake.waitFor(0, "the end of the storm", func(c apiCall) bool { return c.Method == "chat.postMessage" && c.Status == 200 })
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "third")), 0)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "D2", "", e.ts(), "fourth")), 0)
	for _, ch := range []string{"D1", "D2"} {
		e.fake.waitFor(0, "a post to "+ch+" after the storm", func(c apiCall) bool {
			return isPost(ch, "")(c) && (strings.Contains(c.Form.Get("text"), "third") || strings.Contains(c.Form.Get("text"), "fourth"))
		})
	}
	elapsed := time.Since(start)
	calls, _ := e.fake.snapshot()
	var posts []apiCall
	for _, c := range calls {
		if c.Method == "chat.postMessage" {
			posts = append(posts, c)
		}
	}
	// The gap that matters is a conversation's retry after its 429 (two
	// workers' requests may well hit the fake together).
	delivered := 0
	lastLimited := map[string]time.Time{}
	minGap := time.Hour
	for _, c := range posts {
		ch := c.Form.Get("channel")
		if at, ok := lastLimited[ch]; ok {
			minGap = min(minGap, c.At.Sub(at))
			delete(lastLimited, ch)
		}
		if c.Status == 429 {
			lastLimited[ch] = c.At
		} else {
			delivered++
		}
	}
	// Two first posts, each tried at most 1+maxRetries429 times, plus the
	// two after the storm (and a first post that outlived the storm).
	if max := 2*(1+maxRetries429) + 2; len(posts) > max {
		t.Errorf("%d post requests in a storm of %d 429s, want at most %d", len(posts), storm, max)
	}
	if minGap < 950*time.Millisecond {
		t.Errorf("a request went out %v after a 429 with Retry-After: 1", minGap)
	}
	if got := hooked.Load(); got != storm {
		t.Errorf("the API error hook heard %d rate limits, want %d", got, storm)
	}
	if n := e.fake.count(func(c apiCall) bool { return c.Status == 429 }); n != storm {
		t.Errorf("%d 429s answered, want %d", n, storm)
	}
	t.Logf("429 storm: %d 429s, %d post requests, %d delivered, min gap after a 429 %v, %v total",
		storm, len(posts), delivered, minGap.Round(time.Millisecond), elapsed.Round(time.Millisecond))
}

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
	if got := stepOf(t, next); got != "backup_size" {
		t.Errorf("after reconnect: step %q, %q", got, textOf(t, next))
	}
}

// TestSlashCannotPost: when the bot cannot post where the command was used,
// the person is told privately through the response URL.
func TestSlashCannotPost(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	// The fake answers not_in_channel for posts to CBAD.
	from := e.fake.ncalls()
	e.tr.slash(t, slashPayload("U1", "CBAD", "help", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
	c, _ := e.fake.waitFor(from, "the response URL note", func(c apiCall) bool { return c.Method == "response_url" })
	_ = c
}

// TestClickAfterEnd: a button of a finished conversation gets a private
// note and starts nothing.
func TestClickAfterEnd(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	_, q, from := e.start("U1", "C1", "whatsapp backup fails")
	thread := q.Form.Get("thread_ts")
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "C1", thread, e.ts(), "stop")), 0)
	e.fake.waitFor(from, "the ended note", func(c apiCall) bool {
		return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "This conversation has ended")
	})
	posts := e.fake.count(isPost("C1", thread))
	e.tr.click(t, clickPayload(t, q, buttonsOf(t, q)[0], "U1", e.id("trigger")))
	eph, _ := e.fake.waitFor(from, "the note", isEphemeral("C1", "U1"))
	if !strings.Contains(textOf(t, eph), "has ended") {
		t.Errorf("note = %q", textOf(t, eph))
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.fake.count(isPost("C1", thread)); n != posts {
		t.Errorf("a click on a finished conversation posted %d messages", n-posts)
	}
}

// TestMentionInSomeoneElsesThread: one conversation per thread; a second
// person mentioning the bot there is told privately.
func TestMentionInSomeoneElsesThread(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	_, q, from := e.start("U1", "C1", "whatsapp backup fails")
	thread := q.Form.Get("thread_ts")
	ts := e.ts()
	e.tr.event(t, eventPayload(e.id("Ev"), map[string]any{"type": "app_mention", "user": "U2", "text": "<@UBOT> me too",
		"ts": ts, "thread_ts": thread, "channel": "C1", "event_ts": ts}), 0)
	eph, _ := e.fake.waitFor(from, "the note to U2", isEphemeral("C1", "U2"))
	if !strings.Contains(textOf(t, eph), "<@U1>") {
		t.Errorf("note = %q", textOf(t, eph))
	}
	if n := e.fake.count(isPost("C1", thread)); n != 1 {
		t.Errorf("%d posts in the thread, want 1", n)
	}
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
	if n := fake.count(func(c apiCall) bool { return c.Method == "apps.connections.open" }); n != 1 {
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

// TestBadTokens: Run returns an error when Slack refuses the bot token.
func TestBadTokens(t *testing.T) {
	fake := newFakeSlack(t)
	fake.refuseAuth = true
	ad, err := New(Config{BotToken: "xoxb-revoked", AppToken: "xapp-x", APIURL: fake.APIURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = ad.Run(ctxFor(t, 10*time.Second), nil)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("Run = %v, want an invalid_auth error", err)
	}
}

// TestSlashRedeliveredOnce: a slash command delivered three times (same
// trigger id) opens one thread.
func TestSlashRedeliveredOnce(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			p := slashPayload("U1", "C1", "whatsapp backup fails", e.id("trigger"), e.fake.srv.URL+"/api/response_url")
			for range 3 {
				e.tr.slash(t, p)
			}
			root, _ := e.fake.waitFor(0, "the root post", isPost("C1", ""))
			e.fake.waitFor(0, "the first question", isPost("C1", root.TS))
			time.Sleep(300 * time.Millisecond)
			if n := e.fake.count(func(c apiCall) bool { return c.Method == "chat.postMessage" }); n != 2 {
				calls, _ := e.fake.snapshot()
				t.Errorf("%d posts, want 2 (root and question):%s", n, describe(calls))
			}
		})
	}
}

// TestWithoutResumer: behind a wrapper that hides Current, thread replies
// after a restart are still followed (the thread's first message names
// its starter), and others' replies still are not; a wrapper with Unwrap
// keeps stale clicks private.
func TestWithoutResumer(t *testing.T) {
	plain := func(h bot.Handler) bot.Handler { return plainHandler{h} }
	e := newEnvWrapped(t, ModeHTTP, nil, nil, plain)
	_, q, from := e.start("U1", "C1", "whatsapp backup fails")
	thread := q.Form.Get("thread_ts")
	e.stop()
	e2 := newEnvWrapped(t, ModeHTTP, e.fake, e.store, plain)
	next, from := e2.answer(q, "click:on", "U1", from)
	// U2's reply in the thread is ignored, U1's is taken.
	e2.tr.event(t, eventPayload(e2.id("Ev"), messageEvent("U2", "C1", thread, e2.ts(), "7 GB")), 0)
	next, _ = e2.answer(next, "3 GB", "U1", from)
	if got := stepOf(t, next); got != "free_space" {
		t.Errorf("after typed answers in a restarted process: step %q, %q", got, textOf(t, next))
	}
	if n := e2.fake.count(isPost("C1", thread)); n != 3 {
		t.Errorf("%d posts in the thread, want 3 (U2's reply ignored)", n)
	}
	// A mention-started thread is recognised from its root too.
	ts := e2.ts()
	e2.fake.mu.Lock()
	e2.fake.roots = append(e2.fake.roots, map[string]any{"type": "message", "user": "U5", "text": "<@UBOT> my backup fails", "ts": ts})
	e2.fake.mu.Unlock()
	if owner, err := e2.ad.threadOwner(ctxFor(t, 5*time.Second), "C1", ts); owner != "U5" || err != nil {
		t.Errorf("owner of a mention thread = %q, %v; want U5", owner, err)
	}
	if owner, err := e2.ad.threadOwner(ctxFor(t, 5*time.Second), "C1", "1.999"); owner != "" || err == nil {
		t.Errorf("owner of an unknown thread = %q, %v; want an error", owner, err)
	}

	e3 := newEnvWrapped(t, ModeSocket, nil, nil, func(h bot.Handler) bot.Handler { return unwrapHandler{plainHandler{h}} })
	_, q, from = e3.start("U1", "C1", "whatsapp backup fails")
	_, from = e3.answer(q, "click:on", "U1", from)
	e3.tr.click(t, clickPayload(t, q, buttonsOf(t, q)[1], "U1", e3.id("trigger")))
	eph, _ := e3.fake.waitFor(from, "the private stale note", isEphemeral("C1", "U1"))
	if got := stepOf(t, eph); got != "backup_size" {
		t.Errorf("stale note shows step %q: %q", got, textOf(t, eph))
	}
}

// TestRootOwner is the table test of reading a thread's starter.
func TestRootOwner(t *testing.T) {
	tests := []struct {
		name string
		root slack.Msg
		want string
	}{
		{"slash root", slack.Msg{BotID: "BBOT", Text: "<@U1> asked for help: “x”"}, "U1"},
		{"slash root by user id", slack.Msg{User: "UBOT", Text: "<@U1> asked for help"}, "U1"},
		{"other bot's look-alike", slack.Msg{BotID: "B2", User: "U9", Text: "<@U1> asked for help"}, ""},
		{"person's look-alike", slack.Msg{User: "U9", Text: "<@U1> asked for help"}, ""},
		{"mention root", slack.Msg{User: "U5", Text: "hey <@UBOT> help"}, "U5"},
		{"plain message", slack.Msg{User: "U5", Text: "hello"}, ""},
		{"bot message without prefix", slack.Msg{BotID: "BBOT", Text: "hello"}, ""},
		{"malformed", slack.Msg{BotID: "BBOT", Text: "<@U1|x> asked for help"}, ""},
	}
	for _, tc := range tests {
		if got := rootOwner(tc.root, "UBOT", "BBOT"); got != tc.want {
			t.Errorf("%s: rootOwner = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPacingPerChannel: calls to one channel are spaced by the pacer's
// interval (TestPacer checks that channels are paced independently).
func TestPacingPerChannel(t *testing.T) {
	const interval = 250 * time.Millisecond
	e := newEnvFull(t, ModeHTTP, nil, nil, nil, func(a *Adapter) { a.pace = newPacer(interval, 1) })
	start := time.Now()
	_, q, from := e.start("U1", "C1", "whatsapp backup fails") // root + question: 2 calls to C1
	e.answer(q, "click:on", "U1", from)                        // update + question: 2 more
	calls, _ := e.fake.snapshot()
	var c1 []time.Time
	for _, c := range calls {
		if c.Form.Get("channel") == "C1" && c.Method != "conversations.replies" {
			c1 = append(c1, c.At)
		}
	}
	if len(c1) != 4 {
		t.Fatalf("%d calls to C1, want 4:%s", len(c1), describe(calls))
	}
	for i := 1; i < len(c1); i++ {
		if gap := c1[i].Sub(c1[i-1]); gap < interval-20*time.Millisecond {
			t.Errorf("calls %d and %d to C1 only %v apart", i-1, i, gap)
		}
	}
	if total := c1[3].Sub(start); total < 3*interval-60*time.Millisecond {
		t.Errorf("4 calls to C1 took only %v", total)
	}
}

// TestSlashInDMResumes: /troubleshoot in a DM mid-conversation shows the
// current question instead of taking the words as an answer.
func TestSlashInDMResumes(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "whatsapp backup fails")), 0)
	q, i := e.fake.waitFor(0, "the first question", isPost("D1", ""))
	next, from := e.answer(q, "click:on", "U1", i+1)
	e.tr.slash(t, slashPayload("U1", "D1", "5 GB", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
	e.fake.waitFor(from, "the resume note", func(c apiCall) bool {
		return isPost("D1", "")(c) && strings.Contains(c.Form.Get("text"), "middle of a conversation")
	})
	again, _ := e.fake.waitFor(from, "the current question again", func(c apiCall) bool {
		return isPost("D1", "")(c) && len(buttonsOf(t, c)) > 0
	})
	if got, want := stepOf(t, again), stepOf(t, next); got != want {
		t.Errorf("resumed at step %q, want %q", got, want)
	}
	res, err := e.engine.Current(ctxFor(t, 5*time.Second), bot.Address{Platform: Platform, Workspace: "T1", Channel: "D1", User: "U1"})
	if err != nil || res.Step != "backup_size" {
		t.Errorf("the slash text changed the conversation: step %q, %v", res.Step, err)
	}
}
