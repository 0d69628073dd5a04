package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"

	"troubleshooter/bot"
)

// TestFromEvent: which events become deliveries, with which dedupe id and
// conversation key.
func TestFromEvent(t *testing.T) {
	ad := testAdapter(t)
	with := func(ev map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			ev[kv[i].(string)] = kv[i+1]
		}
		return ev
	}
	key := func(channel, thread, user string) string {
		return bot.Address{Platform: Platform, Workspace: "T1", Channel: channel, Thread: thread, User: user}.Key()
	}
	tests := []struct {
		name    string
		ev      map[string]any
		wantKey string // "" for no delivery
	}{
		{"dm", messageEvent("U1", "D1", "", "1.1", "hi"), key("D1", "", "U1")},
		{"dm by type", with(messageEvent("U1", "G1", "", "1.1", "hi"), "channel_type", "im"), key("G1", "", "U1")},
		{"thread reply", messageEvent("U1", "C1", "1.0", "1.1", "3 GB"), key("C1", "1.0", "U1")},
		{"thread broadcast", with(messageEvent("U1", "C1", "1.0", "1.1", "3 GB"), "subtype", "thread_broadcast"), key("C1", "1.0", "U1")},
		{"top-level channel chatter", messageEvent("U1", "C1", "", "1.1", "hi"), ""},
		{"thread reply that mentions the bot", messageEvent("U1", "C1", "1.0", "1.1", "<@UBOT> hi"), ""},
		{"own message", messageEvent("UBOT", "D1", "", "1.1", "hi"), ""},
		{"own bot id", with(messageEvent("U1", "D1", "", "1.1", "hi"), "bot_id", "BBOT"), ""},
		{"other bot", with(messageEvent("U2", "D1", "", "1.1", "hi"), "bot_id", "B2"), ""},
		{"bot_message", with(messageEvent("", "D1", "", "1.1", "hi"), "subtype", "bot_message"), ""},
		{"edit", with(messageEvent("U1", "D1", "", "1.1", "hi"), "subtype", "message_changed"), ""},
		{"delete", with(messageEvent("U1", "D1", "", "1.1", ""), "subtype", "message_deleted"), ""},
		{"join", with(messageEvent("U1", "C1", "", "1.1", "joined"), "subtype", "channel_join"), ""},
		{"no user", messageEvent("", "D1", "", "1.1", "hi"), ""},
		{"mention", map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "2.0", "channel": "C1"}, key("C1", "2.0", "U1")},
		{"mention in thread", map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "2.1", "thread_ts": "2.0", "channel": "C1"}, key("C1", "2.0", "U1")},
		{"mention by a bot", map[string]any{"type": "app_mention", "user": "U2", "bot_id": "B2", "text": "<@UBOT>", "ts": "2.0", "channel": "C1"}, ""},
		{"mention in a DM", map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOT>", "ts": "2.0", "channel": "D1"}, ""},
		{"reaction", map[string]any{"type": "reaction_added", "user": "U1", "reaction": "+1", "item": map[string]any{"type": "message", "channel": "C1", "ts": "1.0"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ad.fromEvent(nil, parseEventJSON(t, eventPayload("Ev1", tc.ev)))
			switch {
			case tc.wantKey == "" && d != nil:
				t.Errorf("delivery %+v for noise", d)
			case tc.wantKey != "" && d == nil:
				t.Error("no delivery")
			case d != nil && (d.key != tc.wantKey || d.id != "Ev1"):
				t.Errorf("delivery key %q id %q, want %q Ev1", d.key, d.id, tc.wantKey)
			}
		})
	}
}

// FuzzFromEvent: any Events API body slack-go can parse converts without
// panicking.
func FuzzFromEvent(f *testing.F) {
	for _, ev := range []map[string]any{
		messageEvent("U1", "D1", "", "1.1", "hi"),
		messageEvent("U1", "C1", "1.0", "1.1", "<@UBOT> 3 GB"),
		{"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "2.0", "channel": "C1"},
	} {
		b, _ := json.Marshal(eventPayload("Ev1", ev))
		f.Add(b)
	}
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","subtype":"message_changed","message":{}}}`))
	ad := testAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
		if err != nil {
			return
		}
		if d := ad.fromEvent(nil, ev); d != nil && d.key == "" {
			t.Fatal("delivery without a key")
		}
	})
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
			wantStep(t, next, "backup_size", "after the click")
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
			wantStep(t, next, "free_space", "typed size not taken")
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
			if n := e.fake.count(isMethod("chat.postMessage")); n != 1 {
				calls, _ := e.fake.snapshot()
				t.Errorf("%d posts, want 1:%s", n, describe(calls))
			}
		})
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
