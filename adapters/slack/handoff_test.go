package slack

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

const hostileSummary = "**Answers**\n- Backup size: <!channel> 3 GB\n- Name: <@U0BOSS> & <!here> <!everyone> <!subteam^S1>\n" +
	"- Link: <https://evil.example|click for your refund>\n- Odd: \u202Egnp.exe\u0000 zero\u200Bwidth\n**Fixes tried**\n- Restart: didn't help"

// TestHandoffPost: what PostHandoff puts in the support channel, for a
// thread conversation, a DM, no group, a failing permalink and an endless
// summary.
func TestHandoffPost(t *testing.T) {
	started := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name      string
		group     string
		to        bot.Address
		summary   string
		permaFail bool
		wantLink  string // "" for none
		wantText  []string
	}{
		{name: "thread with group", group: supportGroup, to: personAddr("C1", "1700000000.000101", "U1"), summary: hostileSummary,
			wantLink: "https://fake.slack.test/archives/C1/p1700000000000101?thread_ts=1700000000.000101&amp;cid=C1",
			wantText: []string{"&lt;!channel&gt; 3 GB", "&lt;@U0BOSS&gt; &amp; &lt;!here&gt;", "&lt;https://evil.example|click for your refund&gt;", "*Fixes tried*", "• Restart: didn't help", "gnp.exe zero\u200Bwidth"}},
		{name: "no group", to: personAddr("C1", "1700000000.000102", "U2"), summary: "**Answers**\n- a: b",
			wantLink: "https://fake.slack.test/archives/C1/p1700000000000102?thread_ts=1700000000.000102&amp;cid=C1"},
		{name: "permalink fails", group: supportGroup, to: personAddr("C1", "1700000000.000103", "U3"), summary: "x", permaFail: true,
			wantLink: "https://slack.com/app_redirect?channel=C1&amp;team=T1"},
		{name: "DM", group: supportGroup, to: personAddr("D1", "", "U4"), summary: "x",
			wantText: []string{"direct message with the bot", "message <@U4> directly"}},
		{name: "endless summary", to: personAddr("C1", "1700000000.000104", "U5"), summary: strings.Repeat("- <!channel> line of an answer\n", 2000),
			wantLink: "https://fake.slack.test/archives/C1/p1700000000000104?thread_ts=1700000000.000104&amp;cid=C1", wantText: []string{summaryCutText}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvOpts(t, ModeHTTP, envOpts{cfg: withSupport(tc.group)})
			if !e.ad.HandsOff() {
				t.Fatal("HandsOff() = false with a support channel")
			}
			if tc.permaFail {
				e.fake.failWith("chat.getPermalink", "message_not_found")
			}
			h := bot.Handoff{Key: tc.to.Key(), Address: tc.to, Guide: "whatsapp-icloud", GuideTitle: "WhatsApp <!here> backup to iCloud",
				Summary: tc.summary, Started: started, At: started.Add(12 * time.Minute)}
			if err := e.ad.PostHandoff(ctxFor(t, 10*time.Second), h); err != nil {
				t.Fatalf("PostHandoff: %v", err)
			}
			post, _ := e.fake.waitFor(0, "the handoff post", isPost(supportChannel, ""))
			texts := strings.Join(allTexts(t, post), "\n")
			allowed := []string{"<@" + tc.to.User + ">", "<!date^"}
			if tc.group != "" {
				allowed = append(allowed, "<!subteam^"+tc.group+">")
				if first := textOf(t, post); !strings.HasPrefix(first, "<!subteam^"+tc.group+">") {
					t.Errorf("the group mention is not at the top: %.80q", first)
				}
				if !strings.HasPrefix(post.Form.Get("text"), "<!subteam^"+tc.group+">") {
					t.Errorf("the notification text does not mention the group: %q", post.Form.Get("text"))
				}
			} else if strings.Contains(texts, "subteam") {
				t.Errorf("a group mention without a group: %q", texts)
			}
			if tc.wantLink != "" {
				allowed = append(allowed, "<"+tc.wantLink+"|")
				if !strings.Contains(texts, "<"+tc.wantLink+"|open the conversation>") {
					t.Errorf("no link %q in %q", tc.wantLink, texts)
				}
			}
			if tok := massPing(t, post, allowed...); tok != "" {
				t.Errorf("the post contains %q: %q", tok, texts)
			}
			if notVerbatim(t, post) {
				t.Errorf("a mrkdwn text without verbatim: %s", post.Form.Get("blocks"))
			}
			for _, w := range append([]string{"<@" + tc.to.User + ">", "WhatsApp &lt;!here&gt; backup to iCloud", "<!date^1795599000^"}, tc.wantText...) {
				if !strings.Contains(texts, w) {
					t.Errorf("the post does not say %q:\n%s", w, texts)
				}
			}
			if strings.ContainsAny(texts, "\u202E\u0000") {
				t.Error("control or bidi-override characters reached the post")
			}
			checkLimits(t, post)
			// One Close button, carrying the person's address.
			var closeVal string
			for _, b := range blocksOf(t, post) {
				if b["type"] != "actions" {
					continue
				}
				for _, el := range b["elements"].([]any) {
					m := el.(map[string]any)
					if m["action_id"] == closeActionID {
						closeVal = str(m["value"])
					}
				}
			}
			if got, err := parseCloseRef(closeVal); err != nil || got != tc.to {
				t.Errorf("close button value %q → %+v, %v; want %+v", closeVal, got, err, tc.to)
			}
		})
	}
}

// TestHandoffPostErrors: without a support channel, or when the bot is
// not in it, PostHandoff fails with an error that says what to do.
func TestHandoffPostErrors(t *testing.T) {
	e := newEnvOpts(t, ModeHTTP, envOpts{})
	if e.ad.HandsOff() {
		t.Error("HandsOff() = true without a support channel")
	}
	h := bot.Handoff{Address: personAddr("C1", "1.1", "U1"), Summary: "x"}
	if err := e.ad.PostHandoff(ctxFor(t, 5*time.Second), h); err == nil {
		t.Error("PostHandoff without a support channel succeeded")
	}
	e2 := newEnvOpts(t, ModeHTTP, envOpts{cfg: withSupport("")})
	e2.fake.failWith("chat.postMessage", "not_in_channel")
	err := e2.ad.PostHandoff(ctxFor(t, 5*time.Second), h)
	if err == nil || !strings.Contains(err.Error(), "/invite") {
		t.Errorf("PostHandoff to a channel the bot is not in = %v, want advice to /invite it", err)
	}
}

// TestHandoffClose runs a conversation to escalation with the real guides
// and a handoff poster, through each mode: the handoff lands in the
// support channel; while staff have it the bot stays quiet, and neither
// the person's nor staff's thread replies start anything; Close by staff
// tells the person and updates the post; a second Close says it was
// already closed.
func TestHandoffClose(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnvOpts(t, mode, envOpts{cfg: withSupport(supportGroup), handoff: true})
			final, thread := e.converse(escalationScript)
			if got := e.outcome(thread); got != bot.OutcomeEscalated {
				t.Fatalf("outcome %q, want escalated", got)
			}
			post, _ := e.fake.waitFor(0, "the handoff post", isPost(supportChannel, ""))
			e.fake.waitFor(0, "the handoff notice", func(c apiCall) bool {
				return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "passed your answers to our support team")
			})
			_ = final
			if strings.Contains(strings.Join(allTexts(t, post), "\n"), "**") {
				t.Errorf("light markdown left in the handoff post")
			}
			time.Sleep(200 * time.Millisecond)
			if n := e.fake.count(func(c apiCall) bool {
				return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "This conversation has ended")
			}); n != 0 {
				t.Error("the ended note contradicts the handoff notice")
			}

			// Quiet while staff have it: the person's and staff's replies
			// in the thread post nothing and start nothing.
			before := e.fake.ncalls()
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "C1", thread, e.ts(), "hello? anyone?")), 0)
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U9", "C1", thread, e.ts(), "Hi, I'm from support: my backup fails too")), 0)
			time.Sleep(300 * time.Millisecond)
			calls, _ := e.fake.snapshot()
			for _, c := range calls[before:] {
				if c.Method == "chat.postMessage" || c.Method == "chat.postEphemeral" {
					t.Errorf("the bot spoke while staff had the conversation:%s", describe([]apiCall{c}))
				}
			}
			staff := personAddr("C1", thread, "U9")
			if cur, err := e.engine.Current(ctxFor(t, 5*time.Second), staff); err != nil || len(cur.Replies) != 0 {
				t.Errorf("a staff reply started a conversation: %+v %v", cur, err)
			}

			// Close as staff.
			from := e.fake.ncalls()
			closeBtn := closeButton(personAddr("C1", thread, "U1"))
			e.tr.click(t, clickPayload(t, post, closeBtn, "U9", e.id("trigger")))
			told, _ := e.fake.waitFor(from, "the closed notice in the person's thread", isPost("C1", thread))
			if got := told.Form.Get("text"); !strings.Contains(got, "Our support team has closed this conversation") {
				t.Errorf("notice to the person = %q, want bot.HandoffClosedNotice", got)
			}
			upd, _ := e.fake.waitFor(from, "the handoff post update", func(c apiCall) bool {
				return c.Method == "chat.update" && c.Form.Get("channel") == supportChannel && c.Form.Get("ts") == post.TS
			})
			if got := textOf(t, upd); !strings.Contains(got, "Closed by <@U9>") || strings.Contains(got, "subteam") {
				t.Errorf("updated post = %q, want 'Closed by <@U9>' and no group mention", got)
			}
			if strings.Contains(upd.Form.Get("blocks"), closeActionID) {
				t.Error("the updated post still has the Close button")
			}
			if !strings.Contains(textOf(t, upd), "&lt;!channel&gt;") && strings.Contains(upd.Form.Get("blocks"), "<!channel>") {
				t.Error("the update unescaped the summary")
			}

			// A second click (another staff member, or the same twice).
			from = e.fake.ncalls()
			e.tr.click(t, clickPayload(t, post, closeBtn, "U8", e.id("trigger")))
			eph, _ := e.fake.waitFor(from, "the already-closed note", isEphemeral(supportChannel, "U8"))
			if got := textOf(t, eph); !strings.Contains(got, "already closed") {
				t.Errorf("second close note = %q", got)
			}
			// The second click leaves the post alone, so it keeps saying
			// who closed it (found in review: it was overwritten).
			if n := e.fake.count(func(c apiCall) bool { return c.Method == "chat.update" && c.Form.Get("ts") == post.TS }); n != 1 {
				t.Errorf("the handoff post was updated %d times, want once (by the first close)", n)
			}
			if n := e.fake.count(func(c apiCall) bool {
				return isPost("C1", thread)(c) && strings.Contains(c.Form.Get("text"), "closed this conversation")
			}); n != 1 {
				t.Errorf("the person was told %d times, want once", n)
			}

			// After the close, the person's thread reply is taken again
			// (the notice invites them to send a message).
			from = e.fake.ncalls()
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "C1", thread, e.ts(), "my whatsapp backup to icloud keeps failing")), 0)
			again, _ := e.fake.waitFor(from, "the bot answering again", isPost("C1", thread))
			if len(buttonsOf(t, again)) == 0 {
				t.Errorf("after the close the bot did not start over: %q", textOf(t, again))
			}
		})
	}
}

// TestHandoffCloseEdgeCases: a handler that cannot close, a Close button
// outside the support channel, a failing engine.
func TestHandoffCloseEdgeCases(t *testing.T) {
	e := newEnvOpts(t, ModeHTTP, envOpts{cfg: withSupport(""), wrap: hideCurrent})
	to := personAddr("C1", "1700000000.000200", "U1")
	if err := e.ad.PostHandoff(ctxFor(t, 5*time.Second), bot.Handoff{Address: to, GuideTitle: "G", Summary: "s"}); err != nil {
		t.Fatal(err)
	}
	post, _ := e.fake.waitFor(0, "the handoff post", isPost(supportChannel, ""))
	btn := closeButton(to)
	from := e.fake.ncalls()
	e.tr.click(t, clickPayload(t, post, btn, "U9", e.id("trigger")))
	eph, _ := e.fake.waitFor(from, "the can't-close note", isEphemeral(supportChannel, "U9"))
	if !strings.Contains(textOf(t, eph), "can't close handoffs") {
		t.Errorf("note = %q", textOf(t, eph))
	}

	// The same button on a post outside the support channel does nothing.
	elsewhere := post
	elsewhere.Form = cloneForm(post.Form)
	elsewhere.Form.Set("channel", "C7")
	from = e.fake.ncalls()
	e.tr.click(t, clickPayload(t, elsewhere, btn, "U9", e.id("trigger")))
	time.Sleep(200 * time.Millisecond)
	if n := e.fake.ncalls() - from; n != 0 {
		calls, _ := e.fake.snapshot()
		t.Errorf("a Close click outside the support channel made %d calls:%s", n, describe(calls[from:]))
	}

	// An engine error: a trouble note, the button stays.
	fe := newEnvOpts(t, ModeHTTP, envOpts{cfg: withSupport(""), wrap: func(h bot.Handler) bot.Handler { return failingCloser{h} }})
	if err := fe.ad.PostHandoff(ctxFor(t, 5*time.Second), bot.Handoff{Address: to, GuideTitle: "G", Summary: "s"}); err != nil {
		t.Fatal(err)
	}
	post, _ = fe.fake.waitFor(0, "the handoff post", isPost(supportChannel, ""))
	from = fe.fake.ncalls()
	fe.tr.click(t, clickPayload(t, post, btn, "U9", fe.id("trigger")))
	eph, _ = fe.fake.waitFor(from, "the trouble note", isEphemeral(supportChannel, "U9"))
	if !strings.Contains(textOf(t, eph), "couldn't close") {
		t.Errorf("note = %q", textOf(t, eph))
	}
	time.Sleep(100 * time.Millisecond)
	if n := fe.fake.count(isMethod("chat.update")); n != 0 {
		t.Error("a failed close removed the button")
	}
}

func cloneForm(f map[string][]string) map[string][]string {
	out := make(map[string][]string, len(f))
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TestSend: notices from the sweeper land in the conversation (thread or
// DM), with choices as numbered lines, escaped.
func TestSend(t *testing.T) {
	e := newEnvOpts(t, ModeHTTP, envOpts{})
	ctx := ctxFor(t, 10*time.Second)
	thread := personAddr("C1", "1700000000.000300", "U1")
	if err := e.ad.Send(ctx, thread, []bot.Reply{{Text: bot.NudgeNotice}, {Text: "Pick <!channel>", Choices: []bot.Choice{{ID: "a", Label: "Yes <@U2>"}, {ID: "b", Label: "No"}}}}); err != nil {
		t.Fatal(err)
	}
	c, _ := e.fake.waitFor(0, "the nudge", isPost("C1", thread.Thread))
	got := textOf(t, c)
	if !strings.Contains(got, "Still there?") || !strings.Contains(got, "1. Yes &lt;@U2&gt;") || !strings.Contains(got, "2. No") {
		t.Errorf("sent = %q", got)
	}
	if tok := massPing(t, c); tok != "" || len(buttonsOf(t, c)) != 0 {
		t.Errorf("sent %q with buttons %d", tok, len(buttonsOf(t, c)))
	}
	dm := personAddr("D1", "", "U1")
	if err := e.ad.Send(ctx, dm, []bot.Reply{{Text: "closed", Done: true}}); err != nil {
		t.Fatal(err)
	}
	e.fake.waitFor(0, "the DM notice", isPost("D1", ""))
	if err := e.ad.Send(ctx, bot.Address{Platform: "discord", Channel: "1"}, []bot.Reply{{Text: "x"}}); !errors.Is(err, bot.ErrUndeliverable) {
		t.Errorf("Send to a Discord address = %v; want bot.ErrUndeliverable", err)
	}
	// What Slack says for good is undeliverable (the outbox drops it); a
	// hiccup is not (the outbox tries again).
	for code, undeliverable := range map[string]bool{"channel_not_found": true, "is_archived": true, "internal_error": false} {
		e.fake.failWith("chat.postMessage", code)
		err := e.ad.Send(ctx, dm, []bot.Reply{{Text: "x"}})
		if err == nil || !strings.Contains(err.Error(), code) || errors.Is(err, bot.ErrUndeliverable) != undeliverable {
			t.Errorf("Slack answering %s: Send = %v; want Slack's error, undeliverable %v", code, err, undeliverable)
		}
	}
}

// TestParseCloseRef is the table test of Close button values.
func TestParseCloseRef(t *testing.T) {
	tests := []parseCase[bot.Address]{
		{in: "tbclose1|T1|C1|1700000000.000101|U1", want: personAddr("C1", "1700000000.000101", "U1")},
		{in: "tbclose1||D1||W1", want: bot.Address{Platform: Platform, Channel: "D1", User: "W1"}},
		{in: "tbclose1|E1|G1|1.2|U1", want: bot.Address{Platform: Platform, Workspace: "E1", Channel: "G1", Thread: "1.2", User: "U1"}},
		{in: "", wantErr: "not a troubleshooter"},
		{in: "tb1|t|U1|s|c|", wantErr: "not a troubleshooter"},
		{in: "tbclose1|T1|C1|1.2", wantErr: "4 fields"},
		{in: "tbclose1|T1|C1|1.2|U1|x", wantErr: "bad start time"},
		{in: "tbclose1|T1|C1|1.2|U1|0170", wantErr: "bad start time"},
		{in: "tbclose1|T1|C1|1.2|U1|1700000000|x", wantErr: "7 fields"},
		{in: "tbclose1|T1|C1|1.2|", wantErr: "bad user"},
		{in: "tbclose1|T1||1.2|U1", wantErr: "bad channel"},
		{in: "tbclose1|T1|#general|1.2|U1", wantErr: "bad channel"},
		{in: "tbclose1|T1|C1|1.2|u1", wantErr: "bad user"},
		{in: "tbclose1|T1|C1|1.2|U1%7C", wantErr: "bad user"},
		{in: "tbclose1|T1|C1|1.2|U%2", wantErr: "bad escape"},
		{in: "tbclose1|T1|C1|now|U1", wantErr: "bad thread"},
		{in: "tbclose1|T1|C1|1.|U1", wantErr: "bad thread"},
		{in: "tbclose1|X1|C1|1.2|U1", wantErr: "bad team"},
		{in: "tbclose1|T1|C1|1.2|<@U1>", wantErr: "bad user"},
		{in: "tbclose1|T1|C1|" + strings.Repeat("1", 2000) + "|U1", wantErr: "more than 2000"},
	}
	checkParse(t, "parseCloseRef", parseCloseRef, "closeRef", closeRef, tests)
}

// FuzzParseCloseRef: parsing a Close button value never panics; whatever
// parses is a Slack-shaped address that encodes back to the same value;
// any address closeRef encodes either parses back to itself or is refused.
func FuzzParseCloseRef(f *testing.F) {
	f.Add("tbclose1|T1|C1|1700000000.000101|U1", "T1", "C1", "1.2", "U1")
	f.Add("tbclose1||D1||W1", "", "C|1", "", "U%1")
	f.Add("tbclose1|%7C|C1|1.2|U1", "T1", "C1", "now", "<@U1>")
	f.Fuzz(func(t *testing.T, v, team, channel, thread, user string) {
		if a, err := parseCloseRef(v); err == nil {
			if a.Platform != Platform || !validID(a.Channel, "CGD") || !validID(a.User, "UW") || strings.ContainsAny(a.User+a.Channel+a.Workspace+a.Thread, "<>|&%") {
				t.Fatalf("parsed %q to a bad address %+v", v, a)
			}
			if back := closeRef(a); back != v {
				// Only a redundant escape could differ; it must still
				// parse to the same address.
				if a2, err := parseCloseRef(back); err != nil || a2 != a {
					t.Fatalf("round trip of %q: %q → %+v, %v", v, back, a2, err)
				}
			}
		}
		want := bot.Address{Platform: Platform, Workspace: team, Channel: channel, Thread: thread, User: user}
		if got, err := parseCloseRef(closeRef(want)); err == nil && got != want {
			t.Fatalf("closeRef(%+v) parsed to %+v", want, got)
		}
	})
}

// TestCloseValueCarriesTheHandoffStart: the Close button names the
// handoff it was posted for; values without the start still parse.
func TestCloseValueCarriesTheHandoffStart(t *testing.T) {
	a := personAddr("C1", "1700000000.000100", "U1")
	started := time.Unix(1700000000, 0)
	v := closeRefAt(a, started)
	if got, err := parseCloseRef(v); err != nil || got != a || !closeStarted(v).Equal(started) {
		t.Errorf("%q parsed to %+v, %v, %v", v, got, closeStarted(v), err)
	}
	if old := closeRef(a); !closeStarted(old).IsZero() {
		t.Errorf("a value without a start gave %v", closeStarted(old))
	}
}

// TestSupportThreadChatter: staff talking in the thread under a handoff
// post start nothing, and cost at most one thread lookup (none with a
// Resumer), not one per message.
func TestSupportThreadChatter(t *testing.T) {
	for _, tc := range withAndWithoutResumer {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvOpts(t, ModeHTTP, envOpts{cfg: withSupport(supportGroup), wrap: tc.wrap})
			to := personAddr("C1", "1700000000.000400", "U1")
			if err := e.ad.PostHandoff(ctxFor(t, 5*time.Second), bot.Handoff{Address: to, GuideTitle: "G", Summary: "s"}); err != nil {
				t.Fatal(err)
			}
			post, _ := e.fake.waitFor(0, "the handoff post", isPost(supportChannel, ""))
			for _, text := range []string{"I'll take this one", "my whatsapp backup to icloud keeps failing", "thanks"} {
				e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U7", supportChannel, post.TS, e.ts(), text)), 0)
			}
			time.Sleep(300 * time.Millisecond)
			if n := e.fake.count(func(c apiCall) bool {
				return c.Method == "chat.postMessage" || c.Method == "chat.postEphemeral"
			}); n != 1 {
				calls, _ := e.fake.snapshot()
				t.Errorf("staff chatter made the bot speak:%s", describe(calls))
			}
			if n := e.fake.count(isMethod("conversations.replies")); n > 1 {
				t.Errorf("%d thread lookups for 3 messages in one thread, want at most 1", n)
			}
		})
	}
}

// FuzzRenderHandoff: whatever the summary and title, a handoff post has
// no raw < except the adapter's own tokens (the person, the group, the
// dates, the link), and stays within Block Kit's limits.
func FuzzRenderHandoff(f *testing.F) {
	f.Add("**Answers**\n- size: <!channel> 3 GB", "Guide <@U2>")
	f.Add(strings.Repeat("<!here> ", 2000), "")
	f.Fuzz(func(t *testing.T, summary, title string) {
		h := bot.Handoff{Address: bot.Address{Platform: Platform, Workspace: "T1", Channel: "C1", Thread: "1.2", User: "U1"},
			Guide: "g", GuideTitle: title, Summary: summary, Started: time.Unix(1700000000, 0), At: time.Unix(1700000100, 0)}
		m, err := renderHandoff(h, "S1", "https://x.test/a?b=1&c=2")
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(m.Blocks)
		call := apiCall{Method: "chat.postMessage", Form: map[string][]string{"blocks": {string(js)}, "text": {m.Text}}}
		if tok := massPing(t, call, "<@U1>", "<!subteam^S1>", "<!date^", "<https://x.test/a?b=1&amp;c=2|"); tok != "" {
			t.Fatalf("token %q in %s", tok, js)
		}
		for _, s := range allTexts(t, call) {
			if strings.ContainsAny(strings.NewReplacer("<@U1>", "", "<!subteam^S1>", "", "<https://x.test/a?b=1&amp;c=2|open the conversation>", "").Replace(dates.ReplaceAllString(s, "")), "<>") {
				t.Fatalf("raw < or > in %q", s)
			}
		}
		if len(m.Blocks) > maxBlocks || utf8.RuneCountInString(m.Text) > maxFallback {
			t.Fatalf("%d blocks, fallback of %d", len(m.Blocks), utf8.RuneCountInString(m.Text))
		}
		for _, b := range m.Blocks {
			if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && utf8.RuneCountInString(s.Text.Text) > maxSectionText {
				t.Fatalf("section of %d characters", utf8.RuneCountInString(s.Text.Text))
			}
		}
	})
}

var dates = regexp.MustCompile(`<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9: -]+UTC>`)
