package slack

import (
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// TestEscapedEcho: what a person types cannot become a mention or a
// broadcast when echoed.
func TestEscapedEcho(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	// Slack sends typed < > & escaped; a crafted client could send raw.
	root, _, _ := e.start("U1", "C1", "help <!channel> <!here> <@U2> &lt;!everyone&gt; & more")
	got := root.Form.Get("text")
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U2>"} {
		if strings.Contains(got, bad) {
			t.Errorf("root post %q contains %q", got, bad)
		}
	}
	if !strings.Contains(got, "&lt;!channel&gt;") || !strings.Contains(got, "&amp; more") {
		t.Errorf("root post %q is not escaped", got)
	}
}

// TestSlashRedeliveredOnce: a slash command delivered three times (same
// trigger id) opens one thread.
func TestSlashRedeliveredOnce(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			p := slashPayload("U1", "C1", "whatsapp backup fails", e.id("trigger"), e.fake.srv.URL+"/api/response_url")
			for range 3 {
				e.tr.slash(t, p)
			}
			root, _ := e.fake.waitFor(0, "the root post", isPost("C1", ""))
			e.fake.waitFor(0, "the first question", isPost("C1", root.TS))
			time.Sleep(300 * time.Millisecond)
			if n := e.fake.count(isMethod("chat.postMessage")); n != 2 {
				calls, _ := e.fake.snapshot()
				t.Errorf("%d posts, want 2 (root and question):%s", n, describe(calls))
			}
		})
	}
}

// TestSlashCannotPost: when the bot cannot post where the command was used,
// the person is told privately through the response URL.
func TestSlashCannotPost(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	// The fake answers not_in_channel for posts to CBAD.
	from := e.fake.ncalls()
	e.tr.slash(t, slashPayload("U1", "CBAD", "help", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
	c, _ := e.fake.waitFor(from, "the response URL note", isMethod("response_url"))
	_ = c
}

// TestSlashInDMResumes: /troubleshoot in a DM mid-conversation shows the
// current question instead of taking the words as an answer.
func TestSlashInDMResumes(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "whatsapp backup fails")), 0)
	q, i := e.fake.waitFor(0, "the first question", isPost("D1", ""))
	next, from := e.answer(q, "click:on", "U1", i+1)
	e.tr.slash(t, slashPayload("U1", "D1", "5 GB", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
	e.fake.waitFor(from, "the resume note", func(c apiCall) bool {
		return isPost("D1", "")(c) && strings.Contains(c.Form.Get("text"), "middle of a conversation")
	})
	again, _ := e.fake.waitFor(from, "the current question again", func(c apiCall) bool {
		return isPost("D1", "")(c) && len(buttonsOf(t, c)) > 0
	})
	if got, want := stepOf(t, again), stepOf(t, next); got != want {
		t.Errorf("resumed at step %q, want %q", got, want)
	}
	res, err := e.engine.Current(ctxFor(t, 5*time.Second), bot.Address{Platform: Platform, Workspace: "T1", Channel: "D1", User: "U1"})
	if err != nil || res.Step != "backup_size" {
		t.Errorf("the slash text changed the conversation: step %q, %v", res.Step, err)
	}
}

// TestSlashInDMWhileWithStaff: /troubleshoot in a DM whose conversation is
// with the support team gets a private note, not silence, and changes
// nothing. (Found in review.)
func TestSlashInDMWhileWithStaff(t *testing.T) {
	e := newEnvOpts(t, ModeSocket, envOpts{cfg: withSupport(""), handoff: true})
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "my whatsapp backup is corrupted")), 0)
	e.fake.waitFor(0, "the fix", func(c apiCall) bool { return isPost("D1", "")(c) && len(buttonsOf(t, c)) > 0 })
	// The jumped-to fix fails: the questions it skipped come next, then
	// the remaining fixes (the delete fix is not offered again).
	for _, text := range []string{"no", "on", "3 GB", "5 GB", "no", "26.1", "25.33.75", "no", "green", "no", "off"} {
		e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), text)), 0)
	}
	_, from := e.fake.waitFor(0, "the handoff post", isPost(supportChannel, ""))
	e.tr.slash(t, slashPayload("U1", "D1", "hello?", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
	note, _ := e.fake.waitFor(from, "the private note", isEphemeral("D1", "U1"))
	if got := textOf(t, note); !strings.Contains(got, "support team has your conversation") {
		t.Errorf("note = %q", got)
	}
	res, err := e.engine.Current(ctxFor(t, 5*time.Second), bot.Address{Platform: Platform, Workspace: "T1", Channel: "D1", User: "U1"})
	if err != nil || !res.Listening || res.Outcome != bot.OutcomeEscalated {
		t.Errorf("after the command: %+v, %v; want still with staff", res, err)
	}
}
