package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

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

// TestStaleClick: a click on an already answered question gets an
// ephemeral note with the current question, changes nothing and posts
// nothing in the thread.
func TestStaleClick(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			next, from := e.answer(q, "click:on", "U1", from)
			posts := e.fake.count(isPost("C1", q.Form.Get("thread_ts")))
			var off button
			for _, b := range buttonsOf(t, q) {
				if b.Ref.Choice == "off" {
					off = b
				}
			}
			e.tr.click(t, clickPayload(t, q, off, "U1", e.id("trigger")))
			eph, _ := e.fake.waitFor(from, "the ephemeral stale note", isEphemeral("C1", "U1"))
			wantStep(t, eph, "backup_size", "stale note, want the current question")
			if eph.Form.Get("thread_ts") != q.Form.Get("thread_ts") {
				t.Errorf("stale note thread = %q", eph.Form.Get("thread_ts"))
			}
			time.Sleep(200 * time.Millisecond)
			if n := e.fake.count(isPost("C1", q.Form.Get("thread_ts"))); n != posts {
				t.Errorf("a stale click posted %d messages in the thread", n-posts)
			}
			// The conversation is still on the size question.
			after, _ := e.answer(next, "3 GB", "U1", from)
			wantStep(t, after, "free_space", "after a stale click the size was not taken")
		})
	}
}

// TestClickByAnotherUser: only the starter can answer; others get an
// ephemeral note and nothing changes.
func TestClickByAnotherUser(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			btns := buttonsOf(t, q)
			e.tr.click(t, clickPayload(t, q, btns[0], "U2", e.id("trigger")))
			eph, _ := e.fake.waitFor(from, "the note to U2", isEphemeral("C1", "U2"))
			if got := textOf(t, eph); !strings.Contains(got, "<@U1>") || !strings.Contains(got, "only they can answer") {
				t.Errorf("note to another user = %q", got)
			}
			// A thread reply by U2 is not taken as an answer either.
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "C1", q.Form.Get("thread_ts"), e.ts(), "3 GB")), 0)
			// U1's click still works on the untouched question.
			next, _ := e.answer(q, "click:on", "U1", from)
			wantStep(t, next, "backup_size", "U1's click after U2's")
			if n := e.fake.count(isMethod("chat.update")); n != 1 {
				t.Errorf("%d chat.update calls, want 1 (only U1's click)", n)
			}
			if n := e.fake.count(isPost("C1", q.Form.Get("thread_ts"))); n != 2 {
				t.Errorf("%d posts in the thread, want 2 (first question, answer to U1)", n)
			}
		})
	}
}

// TestClickAfterRestart: a button posted before a restart still works.
func TestClickAfterRestart(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			e.stop()
			e2 := newEnv(t, mode, e.fake, e.store)
			next, from := e2.answer(q, "click:on", "U1", from)
			wantStep(t, next, "backup_size", "after a click across a restart")
			// And the typed answer in the thread is followed by the new
			// process, which never saw the thread start.
			next, _ = e2.answer(next, "3 GB", "U1", from)
			wantStep(t, next, "free_space", "typed answer after restart")
		})
	}
}

// TestClickAfterEnd: a button of a finished conversation gets a private
// note and starts nothing.
func TestClickAfterEnd(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	_, q, from := e.start("U1", "C1", "whatsapp backup fails")
	thread := q.Form.Get("thread_ts")
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "C1", thread, e.ts(), "stop")), 0)
	e.fake.waitFor(from, "the ended note", func(c apiCall) bool {
		return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "This conversation has ended")
	})
	posts := e.fake.count(isPost("C1", thread))
	e.tr.click(t, clickPayload(t, q, buttonsOf(t, q)[0], "U1", e.id("trigger")))
	eph, _ := e.fake.waitFor(from, "the note", isEphemeral("C1", "U1"))
	if !strings.Contains(textOf(t, eph), "has ended") {
		t.Errorf("note = %q", textOf(t, eph))
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.fake.count(isPost("C1", thread)); n != posts {
		t.Errorf("a click on a finished conversation posted %d messages", n-posts)
	}
}
