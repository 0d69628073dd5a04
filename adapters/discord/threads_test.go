package discord

import (
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
	bobThread := threadID(f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
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
	if fu := clickFollowup(t, f, testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on"); !strings.Contains(fu["content"].(string), "How big") {
		t.Errorf("retry = %v", fu)
	}
}
