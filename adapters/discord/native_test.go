package discord

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// Tests for issue 16: Discord conversations that read natively — no dead
// ends without the Message Content intent, no confusing words, no needless
// pings or messages.

// TestPings: reminders and the closing notice in the person's own
// conversation do not ping (discord.ping: first, the default); news of a
// handoff does; "always" pings every notice and "never" none; the thread
// the bot opens for /troubleshoot mentions the person once, unless never.
func TestPings(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	ctx := ctxT(t)
	th := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, Thread: "800000000000000077", User: alice}
	expired := fmt.Sprintf(bot.ExpiredNoticeFormat, "a day")
	for _, tc := range []struct {
		ping, text string
		pings      bool
	}{
		{"", bot.NudgeNotice, false},
		{"", expired, false},
		{"", bot.HandoffClosedNotice, true},
		{"", bot.HandoffFailedNotice, true},
		{PingAlways, bot.NudgeNotice, true},
		{PingNever, bot.HandoffClosedNotice, false},
	} {
		cfg := testConfig(f)
		cfg.Ping = tc.ping
		a, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		mark := f.Mark()
		if err := a.Send(ctx, th, []bot.Reply{{Text: tc.text}}); err != nil {
			t.Fatal(err)
		}
		m := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+th.Thread+"/messages"))
		mentioned := strings.HasPrefix(m["content"].(string), "<@"+alice+">")
		if tc.pings {
			assertNoMentions(t, tc.ping+" "+tc.text, m, alice)
		} else {
			assertNoMentions(t, tc.ping+" "+tc.text, m)
		}
		if mentioned != tc.pings {
			t.Errorf("ping %q, %q: content %q", tc.ping, tc.text, m["content"])
		}
	}
	if _, err := New(Config{Token: fakeToken, ApplicationID: f.appID, Ping: "sometimes"}, nil); err == nil || !strings.Contains(err.Error(), "discord.ping") {
		t.Errorf("ping: sometimes: %v", err)
	}
}

// TestFloodNoticeAfterClickIsPrivate: when the flood throttle holds a
// click back, the clicker is told privately, in words for clicking, and
// the question's buttons work again.
func TestFloodNoticeAfterClickIsPrivate(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	var hold bool
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		if hold {
			// What adapters/throttle answers for a held-back message.
			return bot.Result{Replies: []bot.Reply{{Text: "You're sending messages faster than I can keep up with. Please wait a few seconds, then send your answer again."}}}, nil
		}
		return eng.Handle(ctx, m)
	})
	runBot(t, f, testConfig(f), h)
	thread, q1 := startThread(t, f)
	hold = true
	mark := f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	content, _ := fu["content"].(string)
	if num(fu["flags"])&64 == 0 {
		t.Errorf("flood notice after a click is public in the thread: %v", fu)
	}
	if strings.Contains(content, "send your answer again") || !strings.Contains(content, "click") {
		t.Errorf("flood notice after a click = %q, want it worded for clicking", content)
	}
	// The buttons are live again.
	f.waitFor("the question's buttons restored", func() bool {
		all, _ := disabledAll(f.messages[q1["id"].(string)]["components"])
		return !all
	})
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/"+thread+"/messages")); n != 0 {
		t.Errorf("%d public posts in the thread", n)
	}
}

// TestFormsFromTheStep: each typed-answer form is titled by its step and
// gives its step's example; two size questions read differently, and a
// version question carries no example from another app.
func TestFormsFromTheStep(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	steps := map[string]bot.Reply{
		"backup": {Text: "How big is your WhatsApp backup?", Input: "size", Title: "Backup size", Example: "3.2 GB"},
		"free":   {Text: "How much iCloud space is free?", Input: "size", Title: "Free iCloud space", Example: "5 GB"},
		"wa":     {Text: "Which WhatsApp version?", Input: "version", Title: "WhatsApp version", Example: "2.25.33.75"},
		"plain":  {Text: "Which version?", Input: "version"},
	}
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		step := strings.TrimSpace(m.Text)
		return bot.Result{Step: step, Replies: []bot.Reply{steps[step]}}, nil
	})
	cfg := testConfig(f)
	runBot(t, f, cfg, h)
	dm := "7700000000000000001"
	want := map[string][2]string{
		"backup": {"Backup size", "For example 3.2 GB"},
		"free":   {"Free iCloud space", "For example 5 GB"},
		"wa":     {"WhatsApp version", "For example 2.25.33.75"},
		"plain":  {"Your answer", ""},
	}
	for _, step := range []string{"backup", "free", "wa", "plain"} {
		mark := f.Mark()
		f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, step, false))
		f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
		q := f.lastWithComponents(dm, "ts1|t|"+alice+"|"+step)
		ids := ids(q)
		mark = f.Mark()
		ia := f.click("", alice, q, ids[0])
		f.dispatch("INTERACTION_CREATE", ia)
		cb := callbackOf(t, f, mark, ia)
		d, _ := cb["data"].(map[string]any)
		var placeholder string
		eachComponent(d["components"], func(c map[string]any) {
			if c["custom_id"] == "answer" {
				placeholder, _ = c["placeholder"].(string)
			}
		})
		if d["title"] != want[step][0] || want[step][1] != "" && placeholder != want[step][1] {
			t.Errorf("%s: form %q / placeholder %q, want %q", step, d["title"], placeholder, want[step])
		}
		if strings.Contains(placeholder, "17.4") {
			t.Errorf("%s: placeholder %q is an iOS version", step, placeholder)
		}
	}
}

// TestMentionInChannelDMMode: in DM mode a mention in a channel moves the
// conversation to DMs, and says so in the channel, as /troubleshoot does.
func TestMentionInChannelDMMode(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runEngine(t, f, ModeDM)
	mark := f.Mark()
	msg := f.messageCreate(testGuild, testChannel, alice, "<@"+f.botID+"> my backup fails", true)
	f.dispatch("MESSAGE_CREATE", msg)
	dm := "77" + alice[2:]
	f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
	var note map[string]any
	f.waitFor("a note in the channel", func() bool {
		for _, c := range f.calls[mark:] {
			if c.Method == "POST" && c.Path == "/api/v9/channels/"+testChannel+"/messages" {
				note = c.JSON(t)
				return true
			}
		}
		return false
	})
	if c, _ := note["content"].(string); !strings.Contains(c, "I've sent you a direct message") {
		t.Errorf("channel note = %q", c)
	}
	assertNoMentions(t, "dm note", note)
	if ref, _ := note["message_reference"].(map[string]any); ref["message_id"] != msg["id"] {
		t.Errorf("the note does not reply to the mention: %v", note["message_reference"])
	}
}

// TestUnreadableThreadMessageGetsHint: without the Message Content
// intent a plain message in the person's thread arrives empty; instead of
// silence they are told, once, what they can do (buttons, the form, a
// mention, the subcommands). Others' messages there get nothing.
func TestUnreadableThreadMessageGetsHint(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runEngine(t, f, ModeThread)
	thread, _ := startThread(t, f)
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "", false)) // what Discord sends without the intent
	hint := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages"))
	c, _ := hint["content"].(string)
	for _, want := range []string{"can't read", "buttons", "<@" + f.botID + ">", "/troubleshoot stop"} {
		if !strings.Contains(c, want) {
			t.Errorf("hint %q lacks %q", c, want)
		}
	}
	assertNoMentions(t, "hint", hint)
	// Once per thread for a while; nothing for someone else.
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "", false))
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, bob, "", false))
	time.Sleep(300 * time.Millisecond)
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/"+thread+"/messages")); n != 0 {
		t.Errorf("%d more hints", n)
	}
}

// TestWordSubcommands: /troubleshoot stop | restart | status | back send
// their word to the conversation where they are used, for people whose
// typed words the bot cannot read.
func TestWordSubcommands(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	got := make(chan bot.Message, 10)
	runBot(t, f, testConfig(f), &countingHandler{h: eng, n: got})
	thread, _ := startThread(t, f)
	<-got
	for _, word := range []string{"status", "stop"} {
		mark := f.Mark()
		ia := f.slash(testGuild, thread, alice, map[string]any{"name": word, "type": 1})
		f.dispatch("INTERACTION_CREATE", ia)
		cb := callbackOf(t, f, mark, ia)
		if num(cb["type"]) != 5 {
			t.Fatalf("%s: initial response %v", word, cb)
		}
		select {
		case m := <-got:
			if m.Text != word || m.Address.Thread != thread || m.Address.User != alice {
				t.Errorf("/troubleshoot %s sent %+v", word, m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("/troubleshoot %s reached no conversation", word)
		}
		f.waitCall(mark, "PATCH", "/api/v9/webhooks/*/"+ia["token"].(string)+"/messages/@original")
	}
	// Outside the thread: a private pointer, nothing sent to the engine.
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice, map[string]any{"name": "stop", "type": 1})
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 4 || num(d["flags"]) != 64 || !strings.Contains(d["content"].(string), "thread") {
		t.Errorf("/troubleshoot stop outside a thread = %v", cb)
	}
	// /troubleshoot start with a problem still starts a conversation.
	mark = f.Mark()
	ia = f.slash(testGuild, testChannel, bob, map[string]any{"name": "start", "type": 1, "options": []any{map[string]any{"name": "problem", "type": 3, "value": "my storage"}}})
	f.dispatch("INTERACTION_CREATE", ia)
	select {
	case m := <-got:
		if m.Text != "my storage" || m.Address.User != bob {
			t.Errorf("/troubleshoot start sent %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("/troubleshoot start started nothing")
	}
}

// TestMentionAnswers: a mention with words answers the conversation in
// progress (the way to type an answer without the Message Content
// intent) rather than only showing where it stands.
func TestMentionAnswers(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runEngine(t, f, ModeEphemeral)
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, testChannel, alice, "<@"+f.botID+"> help", true))
	f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages")
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, testChannel, alice, "<@"+f.botID+"> on", true))
	m := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages"))
	if c, _ := m["content"].(string); !strings.Contains(c, "How big") {
		t.Errorf("after a mention saying \"on\": %q, want the next question", c)
	}
}

// TestFastAnswerNotHeldByPacing: a typed answer's next question is not
// held back behind the edit that disables the previous question's
// controls (a PATCH that Discord's per-route pacing may delay after a
// burst): the two go out in parallel, so the person waits for one call.
func TestFastAnswerNotHeldByPacing(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	cfg := testConfig(f)
	cfg.MessageContent = true
	runBot(t, f, cfg, eng)
	thread, q1 := startThread(t, f)
	clickFollowup(t, f, testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	q2 := f.lastWithComponents(thread, "ts1|t|"+alice+"|size@1")
	const paced = 1500 * time.Millisecond
	f.delay("PATCH", "/channels/", paced)
	f.delay("PATCH", "/webhooks/", paced)
	mark := f.Mark()
	start := time.Now()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "3 GB", false))
	next := f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages")
	if took := next.At.Sub(start); took > time.Second {
		t.Errorf("the next question went out %v after the answer, behind the paced edit (want < 1s)", took.Round(10*time.Millisecond))
	}
	// The old question's controls are still disabled, in the end.
	f.waitFor("the size question disabled", func() bool {
		all, _ := disabledAll(f.messages[q2["id"].(string)]["components"])
		return all
	})
}

// TestFastClickAfterRestartNotHeldByPacing: a click this process cannot
// tell is current (after a restart) is shown answered by an edit, which
// runs in parallel with the turn: the next question does not wait for it.
func TestFastClickAfterRestartNotHeldByPacing(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	_, stop := runBot(t, f, testConfig(f), eng)
	_, q1 := startThread(t, f)
	stop()
	runBot(t, f, testConfig(f), eng)
	f.delay("PATCH", "/webhooks/", 1500*time.Millisecond)
	mark := f.Mark()
	start := time.Now()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	f.waitCall(mark, "POST", "/api/v9/webhooks/*/"+ia["token"].(string))
	if took := time.Since(start); took > time.Second {
		t.Errorf("the next question went out %v after the click, behind the paced edit (want < 1s)", took.Round(10*time.Millisecond))
	}
	d := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/*/"+ia["token"].(string)+"/messages/@original"))
	if all, chosen := disabledAll(d["components"]); !all || chosen != "ts1|c|"+alice+"|icloud@1|on" {
		t.Errorf("the clicked question = %v, want it shown answered", d["components"])
	}
}

// TestRewordUnreadable: in a server conversation without the Message
// Content intent, texts that invite a plain typed message say what works
// instead; DMs and conversations with the intent keep them.
func TestRewordUnreadable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{bot.NudgeNotice, "Still there? Answer the question above with its buttons to continue, or use **/troubleshoot stop** to end."},
		{fmt.Sprintf(bot.ExpiredNoticeFormat, "a day"), "I've closed this conversation, since it has been more than a day without an answer. Use **/troubleshoot start** or mention me any time: you can pick up where we stopped or start over."},
		{bot.HandoffNotice, "I've passed your answers to our support team, and a person will reply here. Until then I'll stay quiet; use **/troubleshoot restart** if you want to start over with me."},
		{bot.HandoffClosedNotice, "Our support team has closed this conversation. If you need more help, use **/troubleshoot start** or mention me any time to start again."},
		{"OK, I've stopped. Send me a message whenever you want to start again.", "OK, I've stopped. Mention me or use **/troubleshoot start** whenever you want to start again."},
		{"Answer with a button, or type your answer in your own words. You can also say:\n- **back**: undo", "Answer with a button, or mention me with your answer in your own words. You can also mention me with one of these words (or run **/troubleshoot** back, status, restart or stop):\n- **back**: undo"},
	} {
		if got := unreadable.Replace(tc.in); got != tc.want {
			t.Errorf("%q\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	a := &Adapter{}
	if !a.cannotRead(bot.Address{Workspace: testGuild}) || a.cannotRead(bot.Address{Channel: "77"}) {
		t.Error("cannotRead: want servers unreadable, DMs readable")
	}
	a.cfg.MessageContent = true
	if a.cannotRead(bot.Address{Workspace: testGuild}) {
		t.Error("cannotRead with the Message Content intent")
	}
}

// TestResumeLeavesOneLiveCopy: /troubleshoot start during a conversation
// shows the current question again; the earlier copy loses its controls,
// so only one copy of the question is live.
func TestResumeLeavesOneLiveCopy(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runEngine(t, f, ModeEphemeral)
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	f.waitCall(mark, "PATCH", "/api/v9/webhooks/*/"+ia["token"].(string)+"/messages/@original")
	q1 := f.lastWithComponents(testChannel, "ts1|c|"+alice+"|icloud@1")
	mark = f.Mark()
	ia = f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	orig := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/*/"+ia["token"].(string)+"/messages/@original"))
	if c, _ := orig["content"].(string); !strings.Contains(c, "in progress") || len(ids(orig)) == 0 {
		t.Fatalf("resumed = %v", orig)
	}
	f.waitFor("the first copy disabled", func() bool {
		all, _ := disabledAll(f.messages[q1["id"].(string)]["components"])
		return all
	})
}
