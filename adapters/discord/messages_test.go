package discord

import (
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
	thread := threadID(thr)
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

func TestStripMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<@42> my backup fails", "my backup fails"},
		{"hey <@!42>, help", "hey  , help"},
		{"<@43> not me", "<@43> not me"},
		{"  <@42>  ", ""},
	}
	for _, tt := range tests {
		if got := stripMention(tt.in, "42"); got != tt.want {
			t.Errorf("stripMention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
