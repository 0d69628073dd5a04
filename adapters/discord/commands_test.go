package discord

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
	// /troubleshoot start [problem], and the command words as subcommands.
	var subs []string
	for _, o := range cmds[0]["options"].([]any) {
		subs = append(subs, o.(map[string]any)["name"].(string))
	}
	if !slices.Equal(subs, []string{"start", "stop", "restart", "status", "back"}) {
		t.Errorf("subcommands = %v", subs)
	}
	if opts := cmds[0]["options"].([]any)[0].(map[string]any)["options"].([]any); len(opts) != 1 || opts[0].(map[string]any)["name"] != "problem" {
		t.Errorf("start options = %v", opts)
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
	thread := threadID(thr)
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

func assertOutcome(t *testing.T, st *bot.MemoryStore, kind, step string) {
	t.Helper()
	var got []bot.Outcome
	_ = st.Outcomes(ctxT(t), time.Time{}, func(o bot.Outcome) error {
		if bot.IsEnding(o.Kind) { // the conversation's start has a record too
			got = append(got, o)
		}
		return nil
	})
	if len(got) != 1 || got[0].Kind != kind || got[0].Step != step || got[0].Platform != Platform {
		t.Errorf("outcomes = %+v, want one %s at %s", got, kind, step)
	}
}

func TestEphemeralConversationToEscalation(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	st := runEngine(t, f, ModeEphemeral)

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
	fu := clickFollowup(t, f, testGuild, alice, q, "ts1|c|"+alice+"|icloud@1|off")
	if num(fu["flags"]) != 64 || !strings.Contains(fu["content"].(string), "Turn the WhatsApp switch on.") {
		t.Fatalf("fix followup = %v", fu)
	}
	q = f.lastWithComponents(testChannel, "ts1|c|"+alice+"|fix_switch@1")
	fu = clickFollowup(t, f, testGuild, alice, q, "ts1|c|"+alice+"|fix_switch@1|not_fixed")
	if num(fu["flags"]) != 64 || !strings.HasPrefix(fu["content"].(string), "Please contact support") {
		t.Errorf("escalation = %v", fu)
	}
	assertOutcome(t, st, bot.OutcomeEscalated, "fix_switch")
	want := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, User: alice}
	if _, err := st.Load(ctxT(t), want.Key()); err != nil {
		t.Errorf("session under %+v: %v", want, err)
	}
}

func TestDMModeSlash(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	st := runEngine(t, f, ModeDM)
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 5 || num(d["flags"]) != 64 {
		t.Fatalf("initial response = %v", cb)
	}
	open := body(t, f.waitCall(mark, "POST", "/api/v9/users/@me/channels"))
	if open["recipient_id"] != alice {
		t.Errorf("DM opened with %v", open)
	}
	dm := "77" + alice[2:]
	q := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages"))
	if len(ids(q)) != 2 {
		t.Errorf("DM question = %v", q)
	}
	orig := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if !strings.Contains(orig["content"].(string), "direct message") {
		t.Errorf("note = %v", orig["content"])
	}
	if _, err := st.Load(ctxT(t), bot.Address{Platform: Platform, Channel: dm, User: alice}.Key()); err != nil {
		t.Errorf("DM session: %v", err)
	}

	// /troubleshoot used inside the DM converses right there.
	mark = f.Mark()
	ia = f.slash("", dm, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	orig = body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if !strings.Contains(orig["content"].(string), "conversation in progress") || len(ids(orig)) != 2 {
		t.Errorf("slash in DM with a conversation in progress = %v", orig)
	}

	// Another /troubleshoot in the server goes to the same DM without
	// asking Discord for it again (one "create DM" bucket serves the
	// whole bot).
	mark = f.Mark()
	ia = f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original")
	if n := len(f.callsSince(0, "POST", "/api/v9/users/@me/channels")); n != 1 {
		t.Errorf("the DM channel was asked for %d times, want once", n)
	}
}
