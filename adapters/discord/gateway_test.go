package discord

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// testLog logs to stderr only with -v, so failures can be debugged.
func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// testEngine is the real engine over a memory store and testFlow.
func testEngine(t testing.TB) (*bot.Engine, *bot.MemoryStore) {
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	return bot.NewEngine(st, testFlow{}, bot.EngineConfig{}, nil), st
}

func testConfig(f *fakeDiscord) Config {
	return Config{Token: fakeToken, ApplicationID: f.appID, GuildIDs: []string{testGuild}, APIURL: f.srv.URL}
}

// runBot starts an adapter on the fake and returns a stop function that
// cancels it and waits for Run to return nil.
func runBot(t *testing.T, f *fakeDiscord, cfg Config, h bot.Handler) (*Adapter, func()) {
	t.Helper()
	a, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.mu.Lock()
	n := len(f.identifies)
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	f.waitConnected(n + 1)
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return a, stop
}

// body decodes a call's JSON body.
func body(t *testing.T, c fakeCall) map[string]any { return c.JSON(t) }

// assertNoMentions checks the allowed_mentions of a message payload lets
// nothing but the listed users be pinged.
func assertNoMentions(t *testing.T, what string, m map[string]any, users ...string) {
	t.Helper()
	am, ok := m["allowed_mentions"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no allowed_mentions in %v", what, m)
	}
	parse, ok := am["parse"].([]any)
	if !ok || len(parse) != 0 {
		t.Errorf("%s: allowed_mentions.parse = %v, want []", what, am["parse"])
	}
	var got []string
	if us, ok := am["users"].([]any); ok {
		for _, u := range us {
			got = append(got, u.(string))
		}
	}
	if !slices.Equal(got, users) {
		t.Errorf("%s: allowed_mentions.users = %v, want %v", what, got, users)
	}
	if rs, ok := am["roles"]; ok && rs != nil {
		t.Errorf("%s: allowed_mentions.roles = %v", what, rs)
	}
}

// ids lists a payload's custom ids.
func ids(m map[string]any) []string { return customIDs(m["components"], "") }

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// callbackOf waits for the initial response to interaction ia.
func callbackOf(t *testing.T, f *fakeDiscord, mark int, ia map[string]any) map[string]any {
	t.Helper()
	return body(t, f.waitCall(mark, "POST", "/api/v9/interactions/"+ia["id"].(string)+"/"+ia["token"].(string)+"/callback"))
}

// followupOf waits for a followup of interaction ia.
func followupOf(t *testing.T, f *fakeDiscord, mark int, ia map[string]any) map[string]any {
	t.Helper()
	m := body(t, f.waitCall(mark, "POST", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)))
	assertNoMentions(t, "followup", m)
	return m
}

// disabledAll reports whether every component in a components JSON value
// is disabled, and returns the custom id of the highlighted (success) one.
func disabledAll(v any) (bool, string) {
	all, chosen := true, ""
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if num(x["type"]) == 2 || num(x["type"]) == 3 {
				if x["disabled"] != true {
					all = false
				}
				if num(x["style"]) == 3 {
					chosen, _ = x["custom_id"].(string)
				}
			}
			walk(x["components"])
		}
	}
	walk(v)
	return all, chosen
}

func TestThreadConversationToResolved(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, st := testEngine(t)
	runBot(t, f, testConfig(f), eng)

	// Start-up: the command is registered by bulk overwrite on the guild,
	// and the gateway identifies without privileged intents.
	reg := f.waitCall(0, "PUT", "/api/v9/applications/"+f.appID+"/guilds/"+testGuild+"/commands")
	var cmds []map[string]any
	if err := json.Unmarshal(reg.Body, &cmds); err != nil || len(cmds) != 1 || cmds[0]["name"] != CommandName {
		t.Fatalf("registered %s (%v)", reg.Body, err)
	}
	if opts := cmds[0]["options"].([]any); len(opts) != 1 || opts[0].(map[string]any)["name"] != "problem" {
		t.Errorf("options = %v", opts)
	}
	f.mu.Lock()
	intents := num(f.identifies[0]["intents"])
	shard := f.identifies[0]["shard"]
	f.mu.Unlock()
	if intents != 1|512|4096 {
		t.Errorf("intents = %d, want GUILDS|GUILD_MESSAGES|DIRECT_MESSAGES", intents)
	}
	if shard != nil {
		t.Errorf("shard = %v, want none for a single shard", shard)
	}

	// /troubleshoot → deferred public response → thread → first question.
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice, map[string]any{"name": "problem", "type": 3, "value": "my backup fails @everyone"})
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if num(cb["type"]) != 5 {
		t.Fatalf("initial response type %v, want 5 (deferred)", cb["type"])
	}
	if d, ok := cb["data"].(map[string]any); ok && num(d["flags"])&64 != 0 {
		t.Error("thread mode deferred ephemerally")
	}
	orig := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if !strings.Contains(orig["content"].(string), "<@"+alice+">") {
		t.Errorf("original = %v", orig["content"])
	}
	assertNoMentions(t, "original", orig)
	thr := f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads")
	if name := body(t, thr)["name"]; name != "Troubleshooting: User 01" {
		t.Errorf("thread name %v", name)
	}
	thread := strings.Split(thr.Path, "/")[6]
	first := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages"))
	if c := first["content"].(string); !strings.HasPrefix(c, "<@"+alice+"> Let's get your WhatsApp backup working.\n\nIs **WhatsApp** allowed") {
		t.Errorf("first question = %q", c)
	}
	assertNoMentions(t, "first thread message", first, alice)
	if got := ids(first); !slices.Equal(got, []string{"ts1|c|" + alice + "|icloud@1|on", "ts1|c|" + alice + "|icloud@1|off"}) {
		t.Errorf("first question ids = %v", got)
	}

	// Click "It's on": the question's buttons are disabled at once, the
	// next question follows.
	q1 := f.lastWithComponents(thread, "ts1|c|"+alice+"|icloud@1")
	mark = f.Mark()
	ia = f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	cb = callbackOf(t, f, mark, ia)
	if num(cb["type"]) != 7 {
		t.Fatalf("click response type %v, want 7 (update message)", cb["type"])
	}
	d := cb["data"].(map[string]any)
	if all, chosen := disabledAll(d["components"]); !all || chosen != "ts1|c|"+alice+"|icloud@1|on" {
		t.Errorf("after click: all disabled %v, chosen %q", all, chosen)
	}
	if d["content"] != q1["content"] {
		t.Errorf("click changed the question's text to %q", d["content"])
	}
	fu := followupOf(t, f, mark, ia)
	if !strings.Contains(fu["content"].(string), "How big is your WhatsApp backup?") || num(fu["flags"])&64 != 0 {
		t.Errorf("size question = %v flags %v", fu["content"], fu["flags"])
	}
	if got := ids(fu); !slices.Equal(got, []string{"ts1|c|" + alice + "|size@1|help", "ts1|t|" + alice + "|size@1|size"}) {
		t.Errorf("size question ids = %v", got)
	}

	// Typed answers through the modal.
	q2 := f.lastWithComponents(thread, "ts1|t|"+alice+"|size@1")
	answerByModal(t, f, q2, "ts1|t|"+alice+"|size@1|size", "ts1|m|"+alice+"|size@1|size", "3 GB", "Got it: 3 GB.")
	q3 := f.lastWithComponents(thread, "ts1|t|"+alice+"|ios@1")
	fu = answerByModal(t, f, q3, "ts1|t|"+alice+"|ios@1|version", "ts1|m|"+alice+"|ios@1|version", "17.4.1", "Got it: 17.4.1.")
	if !strings.Contains(fu["content"].(string), "Update iOS:\n- open Settings") {
		t.Errorf("fix text = %q", fu["content"])
	}

	// "Yes, it works now" → resolved.
	q4 := f.lastWithComponents(thread, "ts1|c|"+alice+"|fix_update@1")
	mark = f.Mark()
	ia = f.click(testGuild, alice, q4, "ts1|c|"+alice+"|fix_update@1|fixed")
	f.dispatch("INTERACTION_CREATE", ia)
	fu = followupOf(t, f, mark, ia)
	if fu["content"] != "Great, it works! 🎉" || len(ids(fu)) != 0 {
		t.Errorf("resolution = %v %v", fu["content"], ids(fu))
	}
	// A click costs two REST calls: the initial response and one followup.
	f.waitFor("the click's calls", func() bool { return len(f.calls) >= mark+2 })
	time.Sleep(50 * time.Millisecond)
	if n := len(f.Calls()) - mark; n != 2 {
		t.Errorf("a click made %d REST calls, want 2:\n%s", n, f.dump())
	}
	assertOutcome(t, st, bot.OutcomeResolved, "fix_update")

	// The conversation lives under guild, channel, thread and user.
	want := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, Thread: thread, User: alice}
	if _, err := st.Load(ctxT(t), want.Key()); err != nil {
		t.Errorf("session under %+v: %v", want, err)
	}
}

// answerByModal clicks a "Type …" button, checks the modal, submits value
// and returns the followup, which must contain echo.
func answerByModal(t *testing.T, f *fakeDiscord, q map[string]any, typeID, modalID, value, echo string) map[string]any {
	t.Helper()
	mark := f.Mark()
	ia := f.click(testGuild, alice, q, typeID)
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	d, _ := cb["data"].(map[string]any)
	if num(cb["type"]) != 9 || d["custom_id"] != modalID || d["title"] == "" {
		t.Fatalf("modal response = %v", cb)
	}
	inputs := customIDs(d["components"], "answer")
	if len(inputs) != 1 {
		t.Fatalf("modal inputs = %v", d["components"])
	}
	mark = f.Mark()
	ia = f.submit(testGuild, alice, q, modalID, value)
	f.dispatch("INTERACTION_CREATE", ia)
	cb = callbackOf(t, f, mark, ia)
	d, _ = cb["data"].(map[string]any)
	if num(cb["type"]) != 7 || !strings.HasSuffix(d["content"].(string), "**Your answer:** "+escapeMarkdown(value)) {
		t.Errorf("modal submit response = %v", cb)
	}
	if all, _ := disabledAll(d["components"]); !all {
		t.Errorf("answered question still has live controls: %v", d["components"])
	}
	fu := followupOf(t, f, mark, ia)
	if !strings.Contains(fu["content"].(string), echo) {
		t.Errorf("after %q: %q, want %q", value, fu["content"], echo)
	}
	return fu
}

func assertOutcome(t *testing.T, st *bot.MemoryStore, kind, step string) {
	t.Helper()
	var got []bot.Outcome
	_ = st.Outcomes(ctxT(t), time.Time{}, func(o bot.Outcome) error { got = append(got, o); return nil })
	if len(got) != 1 || got[0].Kind != kind || got[0].Step != step || got[0].Platform != Platform {
		t.Errorf("outcomes = %+v, want one %s at %s", got, kind, step)
	}
}

func TestEphemeralConversationToEscalation(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, st := testEngine(t)
	cfg := testConfig(f)
	cfg.Mode = ModeEphemeral
	runBot(t, f, cfg, eng)

	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 5 || num(d["flags"]) != 64 {
		t.Fatalf("initial response = %v, want deferred ephemeral", cb)
	}
	orig := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	assertNoMentions(t, "original", orig)
	if got := ids(orig); len(got) != 2 || got[1] != "ts1|c|"+alice+"|icloud@1|off" {
		t.Fatalf("question ids = %v", got)
	}
	if n := len(f.callsSince(0, "POST", "/api/v9/channels/*/messages/*/threads")); n != 0 {
		t.Errorf("ephemeral mode opened %d threads", n)
	}

	q := f.lastWithComponents(testChannel, "ts1|c|"+alice+"|icloud@1")
	if num(q["flags"]) != 64 {
		t.Fatalf("question flags = %v", q["flags"])
	}
	mark = f.Mark()
	ia = f.click(testGuild, alice, q, "ts1|c|"+alice+"|icloud@1|off")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if num(fu["flags"]) != 64 || !strings.Contains(fu["content"].(string), "Turn the WhatsApp switch on.") {
		t.Fatalf("fix followup = %v", fu)
	}
	q = f.lastWithComponents(testChannel, "ts1|c|"+alice+"|fix_switch@1")
	mark = f.Mark()
	ia = f.click(testGuild, alice, q, "ts1|c|"+alice+"|fix_switch@1|not_fixed")
	f.dispatch("INTERACTION_CREATE", ia)
	fu = followupOf(t, f, mark, ia)
	if num(fu["flags"]) != 64 || !strings.HasPrefix(fu["content"].(string), "Please contact support") {
		t.Errorf("escalation = %v", fu)
	}
	assertOutcome(t, st, bot.OutcomeEscalated, "fix_switch")
	want := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, User: alice}
	if _, err := st.Load(ctxT(t), want.Key()); err != nil {
		t.Errorf("session under %+v: %v", want, err)
	}
}

func TestStaleClickOtherUserAndRestart(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	_, stop := runBot(t, f, testConfig(f), eng)

	mark := f.Mark()
	f.dispatch("INTERACTION_CREATE", f.slash(testGuild, testChannel, alice))
	thr := f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads")
	thread := strings.Split(thr.Path, "/")[6]
	q1 := f.lastWithComponents(thread, "ts1|c|"+alice+"|icloud@1")
	mark = f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	followupOf(t, f, mark, ia)
	q2 := f.lastWithComponents(thread, "ts1|t|"+alice+"|size@1")

	// A second click on the answered question (another device, a stale
	// client): acknowledged, then a private note and the current question.
	mark = f.Mark()
	ia = f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|off")
	f.dispatch("INTERACTION_CREATE", ia)
	if cb := callbackOf(t, f, mark, ia); num(cb["type"]) != 7 {
		t.Errorf("stale click response = %v", cb)
	}
	fu := followupOf(t, f, mark, ia)
	if num(fu["flags"]) != 64 || !strings.HasPrefix(fu["content"].(string), "That question was already answered.") || !strings.Contains(fu["content"].(string), "How big") {
		t.Errorf("stale click followup = %v", fu)
	}
	if got := ids(fu); !slices.Contains(got, "ts1|t|"+alice+"|size@1|size") {
		t.Errorf("stale click: current question ids = %v", got)
	}

	// Bob clicks Alice's question: a private note, nothing applied.
	mark = f.Mark()
	ia = f.click(testGuild, bob, q2, "ts1|c|"+alice+"|size@1|help")
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	d, _ := cb["data"].(map[string]any)
	if num(cb["type"]) != 4 || num(d["flags"]) != 64 || !strings.Contains(d["content"].(string), "Only <@"+alice+">") {
		t.Fatalf("other user's click = %v", cb)
	}
	assertNoMentions(t, "other user note", d)
	bobModal := f.submit(testGuild, bob, q2, "ts1|m|"+alice+"|size@1|size", "9 GB")
	f.dispatch("INTERACTION_CREATE", bobModal)
	if cb := callbackOf(t, f, mark, bobModal); num(cb["type"]) != 4 {
		t.Errorf("other user's modal = %v", cb)
	}

	// Restart: a new process with no memory and a handler that can only
	// Handle; the old button still continues the conversation.
	stop()
	runBot(t, f, testConfig(f), handleOnly{eng})
	answerByModal(t, f, q2, "ts1|t|"+alice+"|size@1|size", "ts1|m|"+alice+"|size@1|size", "3 GB", "Got it: 3 GB.")
	if len(f.callsSince(mark, "POST", "/api/v9/webhooks/*/*")) != 1 {
		t.Errorf("bob's clicks produced followups: %s", f.dump())
	}
	// The new process learned the thread's parent from one REST lookup.
	if n := len(f.callsSince(0, "GET", "/api/v9/channels/"+thread)); n != 1 {
		t.Errorf("%d channel lookups, want 1", n)
	}
}

func TestDMConversation(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, st := testEngine(t)
	runBot(t, f, testConfig(f), eng)
	dm := "7700000000000000001"

	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "hi, my whatsapp backup fails", false))
	first := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages"))
	assertNoMentions(t, "dm", first)
	if !strings.Contains(first["content"].(string), "Is **WhatsApp** allowed") || len(ids(first)) != 2 {
		t.Fatalf("dm question = %v", first)
	}
	q := f.lastWithComponents(dm, "ts1|c|"+alice+"|icloud@1")
	mark = f.Mark()
	ia := f.click("", alice, q, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if !strings.Contains(fu["content"].(string), "How big") {
		t.Fatalf("dm click followup = %v", fu)
	}
	// A plain typed answer in the DM.
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "3 GB", false))
	next := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages"))
	if !strings.HasPrefix(next["content"].(string), "Got it: 3 GB.") {
		t.Errorf("typed answer reply = %v", next["content"])
	}
	// The size question, answered by typing, lost its live buttons.
	sizeQ := f.lastWithComponents(dm, "ts1|t|"+alice+"|size@1")
	edit := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/"+sizeQ["id"].(string)))
	if all, _ := disabledAll(edit["components"]); !all {
		t.Errorf("answered question still live: %v", edit["components"])
	}
	want := bot.Address{Platform: Platform, Channel: dm, User: alice}
	if s, err := st.Load(ctxT(t), want.Key()); err != nil || s.Step != "ios" {
		t.Errorf("dm session: %+v %v", s, err)
	}
	// No command lookups or threads for DMs.
	if n := len(f.callsSince(0, "GET", "/api/v9/channels/*")); n != 0 {
		t.Errorf("%d channel lookups for a DM", n)
	}
}

func TestMentionStartsThreadAndTypedAnswers(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	cfg := testConfig(f)
	cfg.MessageContent = true
	runBot(t, f, cfg, eng)
	f.mu.Lock()
	intents := num(f.identifies[0]["intents"])
	f.mu.Unlock()
	if intents&(1<<15) == 0 {
		t.Errorf("message_content set but intents = %d", intents)
	}

	// Other people's messages are ignored.
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, testChannel, bob, "unrelated chatter", false))
	mark := f.Mark()
	msg := f.messageCreate(testGuild, testChannel, alice, "<@"+f.botID+"> it says not enough storage", true)
	f.dispatch("MESSAGE_CREATE", msg)
	thr := f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/"+msg["id"].(string)+"/threads")
	thread := strings.Split(thr.Path, "/")[6]
	first := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages"))
	if !strings.Contains(first["content"].(string), "How big") {
		t.Errorf("mention with 'storage' should jump to the size question: %v", first["content"])
	}
	assertNoMentions(t, "mention reply", first)

	// With the Message Content intent, plain answers in the bot's thread
	// work; another person's plain messages there are ignored.
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, bob, "5 GB", false))
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "3 GB", false))
	next := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages"))
	if !strings.HasPrefix(next["content"].(string), "Got it: 3 GB.") {
		t.Errorf("typed answer in thread = %v", next["content"])
	}
	edit := body(t, f.waitCall(mark, "PATCH", "/api/v9/channels/"+thread+"/messages/*"))
	if all, _ := disabledAll(edit["components"]); !all || len(ids(edit)) != 2 {
		t.Errorf("answered question still live: %v", edit["components"])
	}
	time.Sleep(50 * time.Millisecond) // let a wrongly handled message show up
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/*/messages")); n != 1 {
		t.Errorf("%d replies, want 1 (bob ignored):\n%s", n, f.dump())
	}
	if n := len(f.callsSince(0, "POST", "/api/v9/channels/"+testChannel+"/messages")); n != 0 {
		t.Errorf("the bot answered chatter in the channel: %s", f.dump())
	}
}

func TestRateLimitHonoured(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	f.limit(fakeLimit{Method: "PUT", Prefix: "/applications/", Count: 1, RetryAfter: 0.3})
	f.limit(fakeLimit{Method: "POST", Prefix: "/webhooks/", Count: 1, RetryAfter: 0.2})
	eng, _ := testEngine(t)
	cfg := testConfig(f)
	cfg.Mode = ModeEphemeral
	runBot(t, f, cfg, eng)

	puts := f.callsSince(0, "PUT", "/api/v9/applications/*/guilds/*/commands")
	if len(puts) != 2 || puts[0].Status != 429 || puts[1].Status != 200 {
		t.Fatalf("registration calls: %s", f.dump())
	}
	if gap := puts[1].At.Sub(puts[0].At); gap < 300*time.Millisecond {
		t.Errorf("retried after %v, before retry_after 300ms", gap)
	}

	// A 429 on a followup is waited out too, and the reply arrives.
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	q := f.lastWithComponents(testChannel, "ts1|c|"+alice+"|icloud@1")
	ia = f.click(testGuild, alice, q, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	followupOf(t, f, mark, ia)
	var posts []fakeCall
	f.waitFor("a successful followup", func() bool {
		posts = nil
		for _, c := range f.calls[mark:] {
			if c.Method == "POST" && pathMatch("/api/v9/webhooks/*/*", c.Path) {
				posts = append(posts, c)
			}
		}
		return len(posts) == 2 && posts[1].Status == 200
	})
	if posts[0].Status != 429 || posts[1].At.Sub(posts[0].At) < 200*time.Millisecond {
		t.Errorf("followup retry: %s", f.dump())
	}
}

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
