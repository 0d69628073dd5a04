package discord

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// startThread runs /troubleshoot for alice in thread mode and returns the
// thread id and its first question.
func startThread(t *testing.T, f *fakeDiscord) (string, map[string]any) {
	t.Helper()
	mark := f.Mark()
	f.dispatch("INTERACTION_CREATE", f.slash(testGuild, testChannel, alice))
	thr := f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads")
	thread := strings.Split(thr.Path, "/")[6]
	return thread, f.lastWithComponents(thread, "ts1|c|"+alice+"|icloud@1")
}

func TestClickOnEndedConversation(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	runBot(t, f, testConfig(f), eng)
	thread, q1 := startThread(t, f)
	mark := f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|off")
	f.dispatch("INTERACTION_CREATE", ia)
	followupOf(t, f, mark, ia)
	fix := f.lastWithComponents(thread, "ts1|c|"+alice+"|fix_switch@1")
	mark = f.Mark()
	ia = f.click(testGuild, alice, fix, "ts1|c|"+alice+"|fix_switch@1|fixed")
	f.dispatch("INTERACTION_CREATE", ia)
	if fu := followupOf(t, f, mark, ia); !strings.HasPrefix(fu["content"].(string), "Great") {
		t.Fatalf("resolution = %v", fu)
	}
	// The conversation is over: an old button gets a private note and
	// starts nothing.
	mark = f.Mark()
	ia = f.click(testGuild, alice, fix, "ts1|c|"+alice+"|fix_switch@1|not_fixed")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if num(fu["flags"]) != 64 || !strings.Contains(fu["content"].(string), "has ended") || len(ids(fu)) != 0 {
		t.Errorf("click after the end = %v", fu)
	}
	// A button from another bot, or an older id format, is expired too.
	mark = f.Mark()
	ia = f.click(testGuild, alice, fix, "ts0|c|"+alice+"|x|y")
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 4 || num(d["flags"]) != 64 || !strings.Contains(d["content"].(string), "expired") {
		t.Errorf("unknown custom id = %v", cb)
	}
}

func TestDMModeSlash(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, st := testEngine(t)
	cfg := testConfig(f)
	cfg.Mode = ModeDM
	runBot(t, f, cfg, eng)
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
}

// failingHandler fails every turn after the first.
type failingHandler struct {
	h bot.Handler
	n atomic.Int32
}

func (f *failingHandler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	if f.n.Add(1) > 1 {
		return bot.Result{}, errors.New("store down")
	}
	return f.h.Handle(ctx, m)
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
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	t.Cleanup(func() { cancel(); <-done })
	f.waitConnected(1)

	var cmds []map[string]any
	_ = json.Unmarshal(f.waitCall(0, "PUT", "/api/v9/applications/*/guilds/*/commands").Body, &cmds)
	opts := cmds[0]["options"].([]any)
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
	thread := strings.Split(f.waitCall(mark, "POST", "/api/v9/channels/*/messages/*/threads").Path, "/")[6]
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

type handlerFunc func(context.Context, bot.Message) (bot.Result, error)

func (h handlerFunc) Handle(ctx context.Context, m bot.Message) (bot.Result, error) { return h(ctx, m) }

func TestChannelLookupFailureIsNotGuessed(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng, _ := testEngine(t)
	_, stop := runBot(t, f, testConfig(f), eng)
	_, q1 := startThread(t, f)
	stop()
	// A new process must look the thread up; the lookup fails once.
	f.limit(fakeLimit{Method: "GET", Prefix: "/channels/", Count: 1, Status: 403})
	runBot(t, f, testConfig(f), eng)
	mark := f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if fu["content"] != bot.TroubleReply || num(fu["flags"]) != 64 {
		t.Fatalf("after a failed lookup = %v", fu)
	}
	restore := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if all, _ := disabledAll(restore["components"]); all {
		t.Errorf("buttons not restored: %v", restore["components"])
	}
	// Trying again works, in the right conversation.
	mark = f.Mark()
	ia = f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	if fu := followupOf(t, f, mark, ia); !strings.Contains(fu["content"].(string), "How big") {
		t.Errorf("retry = %v", fu)
	}
}

func TestLongRepliesFitDiscordLimits(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	var choices []bot.Choice
	for i := range 12 {
		choices = append(choices, bot.Choice{ID: "c" + strings.Repeat("x", i), Label: strings.Repeat("Long label ", 12)})
	}
	long := strings.Repeat("Step: open **Settings** and tap the thing. @everyone\n", 100) // ~5,300 characters
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		return bot.Result{Step: "s", Replies: []bot.Reply{{Text: long, Choices: choices, Input: "text"}}}, nil
	})
	cfg := testConfig(f)
	cfg.Mode = ModeEphemeral
	runBot(t, f, cfg, h)
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	var sent []fakeCall
	f.waitFor("4 messages", func() bool {
		sent = nil
		for _, c := range f.calls[mark:] {
			if c.Method == "PATCH" || c.Method == "POST" && strings.HasPrefix(c.Path, "/api/v9/webhooks/") {
				sent = append(sent, c)
			}
		}
		return len(sent) >= 3
	})
	total := 0
	for k, c := range sent {
		if c.Status != 200 {
			t.Fatalf("message %d rejected (%d): %s", k, c.Status, trimText(string(c.Body), 300))
		}
		m := body(t, c)
		assertNoMentions(t, "long reply", m)
		total += discordLen(m["content"].(string))
		if hasIDs := len(ids(m)) > 0; hasIDs != (k == len(sent)-1) {
			t.Errorf("message %d: components %v", k, ids(m))
		}
	}
	if total < 5000 {
		t.Errorf("only %d characters sent", total)
	}
	if got := ids(body(t, sent[len(sent)-1])); len(got) != 13 {
		t.Errorf("choices + type button = %d ids: %v", len(got), got)
	}
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
