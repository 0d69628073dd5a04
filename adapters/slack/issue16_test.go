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

// TestTypedAnswerUpdatesQuestion (issue 16, item 8): a typed answer, like
// a click, turns the question it answered into the chosen answer, with no
// live buttons left; in a thread and in a DM.
func TestTypedAnswerUpdatesQuestion(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	_, q, from := e.start("U1", "C1", "my whatsapp backup to icloud keeps failing")
	q2, from := e.answer(q, "click:on", "U1", from)
	wantStep(t, q2, "backup_size", "after the click")
	if len(buttonsOf(t, q2)) == 0 {
		t.Fatal("the backup size question has no buttons to disable")
	}
	q3, from := e.answer(q2, "3 GB", "U1", from)
	upd, _ := e.fake.waitFor(0, "chat.update of the typed-answered question", func(c apiCall) bool {
		return c.Method == "chat.update" && c.Form.Get("ts") == q2.TS
	})
	if n := len(buttonsOf(t, upd)); n != 0 {
		t.Errorf("the answered question still has %d buttons", n)
	}
	if got := textOf(t, upd); !strings.Contains(got, "3 GB") || !strings.Contains(got, "How big") {
		t.Errorf("the answered question = %q, want the question and the answer 3 GB", got)
	}
	// The next typed answer updates the next question, not this one again.
	wantStep(t, q3, "free_space", "after 3 GB")
	// An answer the question cannot take: asked again with buttons, the
	// old copy points to the new one; without, it keeps its buttons.
	again, from := e.answer(q3, "lots", "U1", from)
	live := q3
	if stepOf(t, again) == "free_space" {
		upd, _ := e.fake.waitFor(0, "chat.update of the question asked again", func(c apiCall) bool {
			return c.Method == "chat.update" && c.Form.Get("ts") == q3.TS
		})
		if n := len(buttonsOf(t, upd)); n != 0 || !strings.Contains(textOf(t, upd), "Asked again below") {
			t.Errorf("the question asked again: %d buttons, %q", n, textOf(t, upd))
		}
		live = again
	} else if n := e.fake.count(func(c apiCall) bool { return c.Method == "chat.update" && c.Form.Get("ts") == q3.TS }); n != 0 {
		t.Errorf("an answer the question could not take edited it %d times", n)
	}
	e.answer(live, "50 GB", "U1", from)
	e.fake.waitFor(0, "chat.update of the free space question", func(c apiCall) bool {
		return c.Method == "chat.update" && c.Form.Get("ts") == live.TS && strings.Contains(textOf(t, c), "50 GB")
	})

	// In a DM.
	from = e.fake.ncalls()
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "D2", "", e.ts(), "my whatsapp backup to icloud keeps failing")), 0)
	dq, _ := e.fake.waitFor(from, "the DM's first question", isPost("D2", ""))
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "D2", "", e.ts(), "it's on")), 0)
	upd, _ = e.fake.waitFor(from, "chat.update of the DM question", func(c apiCall) bool {
		return c.Method == "chat.update" && c.Form.Get("ts") == dq.TS
	})
	if n := len(buttonsOf(t, upd)); n != 0 || !strings.Contains(textOf(t, upd), "it's on") {
		t.Errorf("the DM question after a typed answer: %d buttons, %q", n, textOf(t, upd))
	}
}

// TestFastClicker (issue 16, item 14): with Slack's pacing on (about one
// post a second per channel, bursts of 3), a person clicking half a second
// after each question appears never waits more than a second for the
// click to show and for the next question.
func TestFastClicker(t *testing.T) {
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}, tune: func(a *Adapter) {
		a.pace = newPacer(defaultInterval, defaultBurst)
	}})
	from := e.fake.ncalls()
	// A mention: the thread is the mention's ts.
	ev := eventPayload(e.id("Ev"), map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1700002000.000001", "channel": "C1", "event_ts": "1700002000.000001"})
	e.tr.event(t, ev, 0)
	q, i := e.fake.waitFor(from, "the first question", isPost("C1", "1700002000.000001"))
	from = i + 1
	for round := 0; round < 8; round++ {
		time.Sleep(500 * time.Millisecond)
		var yes button
		for _, b := range buttonsOf(t, q) {
			if b.Ref.Choice == "yes" {
				yes = b
			}
		}
		p := clickPayload(t, q, yes, "U1", e.id("trigger"))
		p["response_url"] = e.fake.srv.URL + "/api/response_url"
		start := time.Now()
		e.tr.click(t, p)
		_, _ = e.fake.waitFor(from, "the clicked question's update", func(c apiCall) bool {
			return (c.Method == "chat.update" && c.Form.Get("ts") == q.TS) || (c.Method == "response_url" && c.Form.Get("replace_original") == "true")
		})
		shown := time.Since(start)
		next, j := e.fake.waitFor(from, "the next question", isPost("C1", "1700002000.000001"))
		asked := time.Since(start)
		if shown > time.Second || asked > time.Second {
			t.Errorf("round %d: the click showed after %v and the next question after %v; want both within 1s", round, shown.Round(time.Millisecond), asked.Round(time.Millisecond))
		}
		q, from = next, j+1
	}
}

// TestResponseURLOnlySlack: a click's response URL is used only when it
// points at Slack or the configured API host.
func TestResponseURLOnlySlack(t *testing.T) {
	ad := testAdapter(t)
	for u, want := range map[string]bool{
		"https://hooks.slack.com/actions/T1/1/abc":     true,
		"https://hooks.slack-gov.com/actions/T1/1/abc": true,
		"http://hooks.slack.com/actions/T1/1/abc":      false,
		"https://hooks.slack.com.evil.test/x":          false,
		"https://slack.com/api/chat.update":            true, // the API host
		"http://169.254.169.254/latest/meta-data":      false,
		"": false,
	} {
		if got := ad.slackURL(u); got != want {
			t.Errorf("slackURL(%q) = %v, want %v", u, got, want)
		}
	}
}
