package slack

import (
	"strings"
	"testing"
	"time"
)

// TestRootPostDoesNotPing (issue 16, item 12): the thread's first message
// after /troubleshoot names the person without mentioning them (they
// asked; a ping about their own command is noise), and the thread is
// still theirs after a restart, without a Resumer: their typed answer is
// followed, read from the root post alone.
func TestRootPostDoesNotPing(t *testing.T) {
	e := newEnvWrapped(t, ModeHTTP, nil, nil, hideCurrent)
	root, q, from := e.start("U1", "C1", "my whatsapp backup to icloud keeps failing")
	for _, s := range allTexts(t, root) {
		if strings.Contains(s, "<@") {
			t.Errorf("the root post mentions someone: %q", s)
		}
	}
	if got := root.Form.Get("text"); !strings.Contains(got, "asked for help") || !strings.Contains(got, "my whatsapp backup") {
		t.Errorf("root post text = %q", got)
	}
	next, from := e.answer(q, "click:on", "U1", from)
	wantStep(t, next, "backup_size", "after the click")
	thread := root.TS
	e.stop()
	e2 := newEnvWrapped(t, ModeHTTP, e.fake, e.store, hideCurrent)
	e2.tr.event(t, eventPayload(e2.id("Ev"), messageEvent("U1", "C1", thread, e2.ts(), "3 GB")), 0)
	got, _ := e2.fake.waitFor(from, "the answer to U1's typed size after a restart", isPost("C1", thread))
	if !strings.Contains(got.Form.Get("text"), "3 GB") {
		t.Errorf("after the restart: %q", got.Form.Get("text"))
	}
}

// TestOneMessageAtTheEnd (issue 16, item 10): the end of a conversation
// is one message: the last reply carries the "conversation has ended"
// note, with no second message after it.
func TestOneMessageAtTheEnd(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	final, thread := e.converse(resolvedScript)
	if !strings.Contains(final.Form.Get("text"), "working again") {
		t.Fatalf("final post = %q", final.Form.Get("text"))
	}
	if txt := textOf(t, final); !strings.Contains(txt, "This conversation has ended") {
		t.Errorf("the final post does not say the conversation has ended: %q", txt)
	}
	time.Sleep(300 * time.Millisecond)
	calls, _ := e.fake.snapshot()
	after := false
	for _, c := range calls {
		if c.TS == final.TS {
			after = true
			continue
		}
		if after && isPost("C1", thread)(c) {
			t.Errorf("a second message after the final one: %q", c.Form.Get("text"))
		}
	}
}
