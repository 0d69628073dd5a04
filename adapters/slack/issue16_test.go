package slack

import (
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
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

// linkFlow answers with a guide text holding a markdown link, and echoes
// what the person typed.
type linkFlow struct{ echoFlow }

func (linkFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	s.Guide, s.GuideVersion, s.Step = "links", "1", "ask"
	return bot.Turn{Replies: []bot.Reply{
		{Text: "You said: " + m.Text},
		{Text: "Check [Apple's status page](https://www.apple.com/support/systemstatus/) or **[Apple Support](https://getsupport.apple.com/?a=1&b=2)**.", Choices: echoQuestion.Choices},
	}}, nil
}

// TestGuideLinks (issue 16, item 11): markdown links in the guide's text
// become Slack links (<url|text>, which verbatim leaves alone), while a
// link the person typed, echoed back, stays escaped text.
func TestGuideLinks(t *testing.T) {
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: linkFlow{}})
	typed := "see [free prizes](https://evil.example/x) <https://evil.example|apple.com>"
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), typed)), 0)
	post, _ := e.fake.waitFor(0, "the answer", isPost("D1", ""))
	txt := textOf(t, post)
	for _, want := range []string{
		"<https://www.apple.com/support/systemstatus/|Apple's status page>",
		"*<https://getsupport.apple.com/?a=1&amp;b=2|Apple Support>*",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("post lacks the link %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "<https://evil") {
		t.Errorf("the person's link became a link:\n%s", txt)
	}
	if tok := massPing(t, post, "<https://www.apple.com/support/systemstatus/|Apple's status page>", "<https://getsupport.apple.com/?a=1&amp;b=2|Apple Support>"); tok != "" {
		t.Errorf("post carries %q:\n%s", tok, txt)
	}
	if notVerbatim(t, post) {
		t.Error("a mrkdwn text without verbatim")
	}
}

// TestMrkdwnLinks is the table test of converting markdown links.
func TestMrkdwnLinks(t *testing.T) {
	tests := []struct{ in, typed, want string }{
		{"[a](https://x.test/p)", "", "<https://x.test/p|a>"},
		{"go [here](http://x.test) now", "", "go <http://x.test|here> now"},
		{"[a|b](https://x.test)", "", "<https://x.test|a/b>"},
		{"[a](javascript:alert(1))", "", "[a](javascript:alert(1))"},
		{"[a](https://x.test/a b)", "", "[a](https://x.test/a b)"},
		{"[a](https://x.test|<!here>)", "", "[a](https://x.test|&lt;!here&gt;)"},
		{"said: [a](https://x.test)", "[a](https://x.test)", "said: a (https://x.test)"},
		{"said: [a b](https://x.test/Q)", "[a\tb](https://x.\u200btest/q)", "said: a b (https://x.test/Q)"},
		{"`[a](https://x.test)`", "", "`[a](https://x.test)`"},
		{"[](https://x.test)", "", "[](https://x.test)"},
	}
	for _, tc := range tests {
		if got := mrkdwnLinks(tc.in, tc.typed, true); got != tc.want {
			t.Errorf("mrkdwnLinks(%q, typed %q) = %q, want %q", tc.in, tc.typed, got, tc.want)
		}
	}
	if got, want := mrkdwnLinks("[a](https://x.test)", "", false), "a (https://x.test)"; got != want {
		t.Errorf("without links: %q, want %q", got, want)
	}
}
