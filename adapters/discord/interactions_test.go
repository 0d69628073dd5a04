package discord

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

func TestClickOnEndedConversation(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	runBot(t, f, testConfig(f), eng)
	thread, q1 := startThread(t, f)
	clickFollowup(t, f, testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|off")
	fix := f.lastWithComponents(thread, "ts1|c|"+alice+"|fix_switch@1")
	if fu := clickFollowup(t, f, testGuild, alice, fix, "ts1|c|"+alice+"|fix_switch@1|fixed"); !strings.HasPrefix(fu["content"].(string), "Great") {
		t.Fatalf("resolution = %v", fu)
	}
	// The conversation is over: an old button gets a private note and
	// starts nothing.
	fu := clickFollowup(t, f, testGuild, alice, fix, "ts1|c|"+alice+"|fix_switch@1|not_fixed")
	if num(fu["flags"]) != 64 || !strings.Contains(fu["content"].(string), "has ended") || len(ids(fu)) != 0 {
		t.Errorf("click after the end = %v", fu)
	}
	// A button from another bot, or an older id format, is expired too.
	mark := f.Mark()
	ia := f.click(testGuild, alice, fix, "ts0|c|"+alice+"|x|y")
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 4 || num(d["flags"]) != 64 || !strings.Contains(d["content"].(string), "expired") {
		t.Errorf("unknown custom id = %v", cb)
	}
}

func TestHandlerFailureRestoresButtons(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	runBot(t, f, testConfig(f), &failingHandler{h: handleOnly{eng}})
	_, q1 := startThread(t, f)
	mark := f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if fu["content"] != bot.TroubleReply {
		t.Errorf("failure reply = %v", fu["content"])
	}
	restore := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if all, _ := disabledAll(restore["components"]); all || len(ids(restore)) != 2 {
		t.Errorf("buttons not restored: %v", restore["components"])
	}
}

func TestSelectMenuAndGuideOption(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	var got atomic.Value
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		got.Store(m)
		var choices []bot.Choice
		for i := range 30 {
			choices = append(choices, bot.Choice{ID: "model" + string(rune('a'+i%26)) + strings.Repeat("z", i/26), Label: "Model " + string(rune('A'+i%26))})
		}
		return bot.Result{Step: "model", Replies: []bot.Reply{{Text: "Which **iPhone**?", Choices: choices}}}, nil
	})
	a, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	a.SetGuides([]string{"whatsapp-icloud", "printer"})
	runAdapter(t, f, a, h)

	var cmds []map[string]any
	_ = json.Unmarshal(f.waitCall(0, "PUT", "/api/v9/applications/*/guilds/*/commands").Body, &cmds)
	opts := cmds[0]["options"].([]any)[0].(map[string]any)["options"].([]any) // start's
	if len(opts) != 2 || opts[1].(map[string]any)["name"] != "guide" || len(opts[1].(map[string]any)["choices"].([]any)) != 2 {
		t.Fatalf("guide option = %v", opts)
	}

	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice, map[string]any{"name": "guide", "type": 3, "value": "printer"})
	f.dispatch("INTERACTION_CREATE", ia)
	f.waitCall(mark, "POST", "/api/v9/channels/*/messages")
	if m := got.Load().(bot.Message); m.Guide != "printer" || m.ID != ia["id"] {
		t.Errorf("slash message = %+v", m)
	}
	thread := threadID(f.waitCall(mark, "POST", "/api/v9/channels/*/messages/*/threads"))
	q := f.lastWithComponents(thread, "ts1|s|"+alice+"|model")
	if menus := ids(q); len(menus) != 2 || menus[0] != "ts1|s|"+alice+"|model|1" || menus[1] != "ts1|s|"+alice+"|model|2" {
		t.Fatalf("select menus = %v", menus)
	}
	mark = f.Mark()
	ia = f.pick(testGuild, alice, q, "ts1|s|"+alice+"|model|2", "modelcz")
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	d := cb["data"].(map[string]any)
	if all, _ := disabledAll(d["components"]); num(cb["type"]) != 7 || !all || !strings.Contains(string(mustJSON(t, d["components"])), `"placeholder":"✓ Model C"`) {
		t.Errorf("select answered = %v", cb)
	}
	followupOf(t, f, mark, ia)
	if m := got.Load().(bot.Message); m.Choice != "modelcz" || m.Step != "model" || m.Address.Thread != thread || m.Address.Channel != testChannel {
		t.Errorf("pick message = %+v", m)
	}
}

func TestStaleClickOtherUserAndRestart(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	_, stop := runBot(t, f, testConfig(f), eng)

	thread, q1 := startThread(t, f)
	clickFollowup(t, f, testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	q2 := f.lastWithComponents(thread, "ts1|t|"+alice+"|size@1")

	// A second click on the answered question (another device, a stale
	// client): acknowledged without changing what the old message shows,
	// then a private note linking to the current question, with no
	// controls of its own: one live copy of the current question.
	f.mu.Lock()
	q1Before := string(mustJSON(t, f.messages[q1["id"].(string)]["components"]))
	f.mu.Unlock()
	mark := f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|off")
	f.dispatch("INTERACTION_CREATE", ia)
	if cb := callbackOf(t, f, mark, ia); num(cb["type"]) != 6 {
		t.Errorf("stale click response = %v, want 6 (acknowledged, message unchanged)", cb)
	}
	fu := followupOf(t, f, mark, ia)
	link := "https://discord.com/channels/" + testGuild + "/" + thread + "/" + q2["id"].(string)
	if num(fu["flags"]) != 64 || !strings.HasPrefix(fu["content"].(string), "That question was already answered.") || !strings.Contains(fu["content"].(string), link) {
		t.Errorf("stale click followup = %v, want a private note linking to %s", fu, link)
	}
	if got := ids(fu); len(got) != 0 {
		t.Errorf("stale click: a second live copy of the current question: %v", got)
	}
	f.mu.Lock()
	q1After := string(mustJSON(t, f.messages[q1["id"].(string)]["components"]))
	f.mu.Unlock()
	if q1After != q1Before {
		t.Errorf("the stale click changed the old question:\n%s\nwas\n%s", q1After, q1Before)
	}
	if n := len(f.callsSince(mark, "PATCH", "/api/v9/webhooks/*/"+ia["token"].(string)+"/messages/@original")); n != 0 {
		t.Errorf("the stale click edited the old question %d times", n)
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

func TestModalValue(t *testing.T) {
	tests := []struct {
		comps []discordgo.MessageComponent
		want  string
		ok    bool
	}{
		{nil, "", false},
		{[]discordgo.MessageComponent{&discordgo.ActionsRow{Components: []discordgo.MessageComponent{&discordgo.TextInput{Value: "3 GB"}}}}, "3 GB", true},
		{[]discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{Value: ""}}}}, "", true},
		{[]discordgo.MessageComponent{&discordgo.Button{}}, "", false},
	}
	for k, tt := range tests {
		got, ok := modalValue(tt.comps)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%d: modalValue = %q, %v", k, got, ok)
		}
	}
}
