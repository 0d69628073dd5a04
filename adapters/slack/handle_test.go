package slack

import (
	"slices"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// TestConversationResolved runs the whole guide to "resolved" through each
// mode: slash command → thread → clicks → typed sizes and versions.
func TestConversationResolved(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			final, thread := e.converse(resolvedScript)
			if got := e.outcome(thread); got != bot.OutcomeResolved {
				t.Errorf("outcome %q, want resolved; final post %q", got, textOf(t, final))
			}
			e.fake.waitFor(0, "the ended note", func(c apiCall) bool {
				return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "This conversation has ended")
			})
			for _, step := range []string{"icloud_access", "backup_size", "free_space", "ios_version", "whatsapp_version"} {
				if !slices.Contains(e.visited, step) {
					t.Errorf("the conversation never asked %s (asked %v)", step, e.visited)
				}
			}
			// Every post after the root is in the thread, with light
			// markdown converted.
			calls, _ := e.fake.snapshot()
			for _, c := range calls {
				if c.Method != "chat.postMessage" || c.Form.Get("thread_ts") == "" {
					continue
				}
				if c.Form.Get("thread_ts") != thread {
					t.Errorf("post in thread %q, want %q", c.Form.Get("thread_ts"), thread)
				}
				if strings.Contains(textOf(t, c), "**") {
					t.Errorf("light markdown not converted: %q", textOf(t, c))
				}
			}
		})
	}
}

// TestConversationEscalated runs the guide through every fix to the
// hand-over, through each mode.
func TestConversationEscalated(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			final, thread := e.converse(escalationScript)
			if got := e.outcome(thread); got != bot.OutcomeEscalated {
				t.Errorf("outcome %q, want escalated; final post %q", got, textOf(t, final))
			}
			if len(e.visited) < 8 {
				t.Errorf("escalated after only %v", e.visited)
			}
		})
	}
}

// TestWithoutResumer: behind a wrapper that hides Current, thread replies
// after a restart are still followed (the thread's first message names
// its starter), and others' replies still are not; a wrapper with Unwrap
// keeps stale clicks private.
func TestWithoutResumer(t *testing.T) {
	e := newEnvWrapped(t, ModeHTTP, nil, nil, hideCurrent)
	_, q, from := e.start("U1", "C1", "whatsapp backup fails")
	thread := q.Form.Get("thread_ts")
	e.stop()
	e2 := newEnvWrapped(t, ModeHTTP, e.fake, e.store, hideCurrent)
	next, from := e2.answer(q, "click:on", "U1", from)
	// U2's reply in the thread is ignored, U1's is taken.
	e2.tr.event(t, eventPayload(e2.id("Ev"), messageEvent("U2", "C1", thread, e2.ts(), "7 GB")), 0)
	next, _ = e2.answer(next, "3 GB", "U1", from)
	wantStep(t, next, "free_space", "after typed answers in a restarted process")
	if n := e2.fake.count(isPost("C1", thread)); n != 3 {
		t.Errorf("%d posts in the thread, want 3 (U2's reply ignored)", n)
	}
	// A mention-started thread is recognised from its root too.
	ts := e2.ts()
	e2.fake.mu.Lock()
	e2.fake.roots = append(e2.fake.roots, map[string]any{"type": "message", "user": "U5", "text": "<@UBOT> my backup fails", "ts": ts})
	e2.fake.mu.Unlock()
	if owner, err := e2.ad.threadOwner(ctxFor(t, 5*time.Second), "C1", ts); owner != "U5" || err != nil {
		t.Errorf("owner of a mention thread = %q, %v; want U5", owner, err)
	}
	if owner, err := e2.ad.threadOwner(ctxFor(t, 5*time.Second), "C1", "1.999"); owner != "" || err == nil {
		t.Errorf("owner of an unknown thread = %q, %v; want an error", owner, err)
	}

	e3 := newEnvWrapped(t, ModeSocket, nil, nil, func(h bot.Handler) bot.Handler { return unwrapHandler{plainHandler{h}} })
	_, q, from = e3.start("U1", "C1", "whatsapp backup fails")
	_, from = e3.answer(q, "click:on", "U1", from)
	e3.tr.click(t, clickPayload(t, q, buttonsOf(t, q)[1], "U1", e3.id("trigger")))
	eph, _ := e3.fake.waitFor(from, "the private stale note", isEphemeral("C1", "U1"))
	wantStep(t, eph, "backup_size", "stale note")
}
