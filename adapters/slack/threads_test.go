package slack

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

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
		{"slash root by block id", slack.Msg{BotID: "BBOT", Text: "*jo* asked for help", Blocks: askerBlocks("U7")}, "U7"},
		{"person's block id look-alike", slack.Msg{User: "U9", Text: "*jo* asked for help", Blocks: askerBlocks("U7")}, ""},
		{"malformed block id", slack.Msg{BotID: "BBOT", Text: "*jo* asked for help", Blocks: askerBlocks("<U7>")}, ""},
	}
	for _, tc := range tests {
		if got := rootOwner(tc.root, "UBOT", "BBOT"); got != tc.want {
			t.Errorf("%s: rootOwner = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func askerBlocks(user string) slack.Blocks {
	return slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(nil, nil, nil, slack.SectionBlockOptionBlockID(askerBlockPrefix+user))}}
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

// TestThreadOwnerLookupFails: when the thread-owner lookup fails (after a
// restart, conversations.replies errors), a mention by someone else in a
// person's thread neither starts a conversation nor makes them the
// thread's owner; once the lookup works they are told whose thread it is,
// and the owner carries on.
func TestThreadOwnerLookupFails(t *testing.T) {
	for _, tc := range withAndWithoutResumer {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWrapped(t, ModeHTTP, nil, nil, tc.wrap)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			thread := q.Form.Get("thread_ts")
			e.stop()
			e2 := newEnvWrapped(t, ModeHTTP, e.fake, e.store, tc.wrap)
			e2.fake.failWith("conversations.replies", "internal_error")
			mention := func(user string) {
				ts := e2.ts()
				e2.tr.event(t, eventPayload(e2.id("Ev"), map[string]any{"type": "app_mention", "user": user, "text": "<@UBOT> me too",
					"ts": ts, "thread_ts": thread, "channel": "C1", "event_ts": ts}), 0)
			}
			mention("U2")
			eph, _ := e2.fake.waitFor(from, "the trouble note to U2", isEphemeral("C1", "U2"))
			if !strings.Contains(textOf(t, eph), "trouble") {
				t.Errorf("note = %q", textOf(t, eph))
			}
			// U2's plain reply in the thread is not followed either.
			e2.tr.event(t, eventPayload(e2.id("Ev"), messageEvent("U2", "C1", thread, e2.ts(), "7 GB")), 0)
			time.Sleep(200 * time.Millisecond)
			if owner := e2.ad.threads.get("C1", thread); owner == "U2" {
				t.Error("a failed lookup made U2 the thread's owner")
			}
			if n := e2.fake.count(isPost("C1", thread)); n != 1 {
				t.Errorf("%d posts in the thread, want 1 (U1's question)", n)
			}
			if cur, err := e2.engine.Current(ctxFor(t, 5*time.Second), personAddr("C1", thread, "U2")); err != nil || len(cur.Replies) != 0 {
				t.Errorf("U2 got a conversation in U1's thread: %+v %v", cur, err)
			}
			// The lookup works again: U2 is told whose thread it is.
			e2.fake.failWith("conversations.replies", "")
			from = e2.fake.ncalls()
			mention("U2")
			eph, _ = e2.fake.waitFor(from, "the not-yours note", isEphemeral("C1", "U2"))
			if !strings.Contains(textOf(t, eph), "<@U1>") {
				t.Errorf("note = %q", textOf(t, eph))
			}
			next, _ := e2.answer(q, "click:on", "U1", from)
			wantStep(t, next, "backup_size", "U1 after the failed lookups")
		})
	}
}
