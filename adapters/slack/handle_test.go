package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"troubleshooter/bot"
)

func testAdapter(t testing.TB) *Adapter {
	ad, err := New(Config{BotToken: "xoxb-x", AppToken: "xapp-x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ad.botUser.Store("UBOT")
	ad.botID.Store("BBOT")
	return ad
}

func parseEventJSON(t testing.TB, p map[string]any) slackevents.EventsAPIEvent {
	t.Helper()
	b, _ := json.Marshal(p)
	ev, err := slackevents.ParseEvent(b, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	return ev
}

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

// TestFromInteraction: which clicks become deliveries.
func TestFromInteraction(t *testing.T) {
	ad := testAdapter(t)
	val := actionRef{Thread: "1.0", User: "U1", Step: "s", Choice: "c"}.String()
	cb := func(typ, actionID, value string) slack.InteractionCallback {
		var c slack.InteractionCallback
		js, _ := json.Marshal(map[string]any{"type": typ, "trigger_id": "tr1", "user": map[string]any{"id": "U1"},
			"team": map[string]any{"id": "T1"}, "channel": map[string]any{"id": "C1"},
			"actions": []any{map[string]any{"action_id": actionID, "block_id": "b", "value": value, "type": "button"}}})
		if err := json.Unmarshal(js, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	want := bot.Address{Platform: Platform, Workspace: "T1", Channel: "C1", Thread: "1.0", User: "U1"}.Key()
	tests := []struct {
		name string
		cb   slack.InteractionCallback
		ok   bool
	}{
		{"our button", cb("block_actions", "tb1:0:c", val), true},
		{"other action id", cb("block_actions", "other", val), false},
		{"unreadable value", cb("block_actions", "tb1:0:c", "tb1|x"), false},
		{"foreign value", cb("block_actions", "tb1:0:c", "hello"), false},
		{"view submission", cb("view_submission", "tb1:0:c", val), false},
		{"shortcut", cb("shortcut", "tb1:0:c", val), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ad.fromInteraction(nil, tc.cb)
			if (d != nil) != tc.ok {
				t.Fatalf("delivery = %v, want %v", d != nil, tc.ok)
			}
			if d != nil && (d.key != want || d.id != "click:tr1") {
				t.Errorf("key %q id %q", d.key, d.id)
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

// FuzzRootOwner: reading a thread's starter never panics and never
// returns an id with mention syntax in it.
func FuzzRootOwner(f *testing.F) {
	f.Add("<@U1> asked for help: x", "BBOT", "")
	f.Add("hey <@UBOT>", "", "U5")
	f.Add("<@> asked for help", "BBOT", "")
	f.Fuzz(func(t *testing.T, text, botID, user string) {
		got := rootOwner(slack.Msg{Text: text, BotID: botID, User: user}, "UBOT", "BBOT")
		if got != "" && got != user && (len(got) == 0 || strings.ContainsAny(got, "<>|")) {
			t.Fatalf("owner %q from %q", got, text)
		}
	})
}
