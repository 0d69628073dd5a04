package discord

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

func TestHandoffPostAndClose(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng := handoffEngine(t)
	a, _ := runBot(t, f, handoffConfig(f), eng)
	if !a.HandsOff() {
		t.Fatal("HandsOff = false with a support channel")
	}
	eng.SetHandoffPoster(Platform, a)
	eng.SetSender(Platform, a)

	hostile := "<@&" + supportRole + "> @everyone @here <@" + bob + "> [click](https://evil.example) ```x``` # big 3 GB"
	thread := escalate(t, f, hostile)

	// The post: role mention allowed, nothing else.
	post := f.waitCall(0, "POST", "/api/v9/channels/"+supportChannel+"/messages")
	if post.Status != 200 {
		t.Fatalf("handoff post rejected: %d %s", post.Status, post.Body)
	}
	p := body(t, post)
	content := p["content"].(string)
	if !strings.HasPrefix(content, "<@&"+supportRole+"> ") || !strings.Contains(content, "<@"+alice+">") {
		t.Errorf("post content = %q", content)
	}
	am := p["allowed_mentions"].(map[string]any)
	if parse, _ := am["parse"].([]any); am["parse"] == nil || len(parse) != 0 || am["users"] != nil ||
		!slices.Equal(am["roles"].([]any), []any{supportRole}) {
		t.Errorf("post allowed_mentions = %v, want only the support role", am)
	}
	embeds := p["embeds"].([]any)
	e := embeds[0].(map[string]any)
	desc := e["description"].(string)
	if e["title"] != "WhatsApp backup to iCloud" || !strings.HasPrefix(desc, "**Answers**\n- Backup size\\: ") ||
		!strings.Contains(desc, "**Fixes tried**\n- Update iOS\\: didn't help") || !strings.Contains(desc, "iOS version\\: 17.4.1") {
		t.Errorf("embed = %v", e)
	}
	for _, raw := range []string{"<@&", "<@" + bob, "[click](", "```", " @everyone", " @here", "\n# "} {
		if strings.Contains(desc, raw) {
			t.Errorf("summary kept %q unescaped: %q", raw, desc)
		}
	}
	fields := fieldValues(e)
	link := "https://discord.com/channels/" + testGuild + "/" + thread
	if !strings.Contains(fields, link) || !strings.Contains(fields, "<t:") || !strings.Contains(fields, "<@"+alice+">") {
		t.Errorf("fields = %s, want the link %s and the start time", fields, link)
	}
	closeID := "ts1|x|" + alice + "|" + testChannel + "|" + testGuild + "." + thread + "."
	if got := ids(p); len(got) != 1 || !strings.HasPrefix(got[0], closeID) || len(got[0]) > 100 {
		t.Errorf("post buttons = %v, want one %s<start>", got, closeID)
	} else if c, err := parseCustomID(got[0]); err != nil || closeStarted(c).IsZero() {
		t.Errorf("close button %q: start %v, %v; want the handoff's start", got[0], closeStarted(c), err)
	} else {
		closeID = got[0]
	}

	// While staff have it, the bot is quiet: staff's messages in the
	// thread are not conversations, and alice's get no answer.
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, staff, "Hi, I'm from support. Can you try X?", false))
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, staff, "<@"+f.botID+"> what did they say?", true))
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "tried X, still failing", false))
	// /troubleshoot in the thread: the deferred response is not left
	// "thinking", and nothing empty is posted.
	ia := f.slash(testGuild, thread, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	f.waitCall(mark, "DELETE", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original")
	note := followupOf(t, f, mark, ia)
	if note["content"] != quietNote || num(note["flags"]) != 64 {
		t.Errorf("quiet slash note = %v", note)
	}
	// A click on an old question in the thread gets the same private note
	// rather than looking accepted. (Found in review.)
	q := f.lastWithComponents(thread, "ts1|c|")
	click := f.click(testGuild, alice, q, ids(q)[0])
	f.dispatch("INTERACTION_CREATE", click)
	if note := followupOf(t, f, mark, click); note["content"] != quietNote || num(note["flags"]) != 64 {
		t.Errorf("click while with staff: note = %v", note)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.callsSince(mark, "POST", "/api/v9/channels/*/messages")); n != 0 {
		t.Errorf("the bot spoke %d times while staff had the conversation:\n%s", n, f.dump())
	}

	// A member without the role cannot close it.
	postMsg := f.lastWithComponents(supportChannel, "ts1|x|")
	mark = f.Mark()
	ia = asStaff(f.click(testGuild, bob, postMsg, closeID))
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 4 || num(d["flags"]) != 64 || d["content"] != closeForbiddenNote {
		t.Errorf("non-staff close = %v", cb)
	}

	// Staff close it: alice is told, the post says who closed it.
	mark = f.Mark()
	ia = asStaff(f.click(testGuild, staff, postMsg, closeID), supportRole)
	f.dispatch("INTERACTION_CREATE", ia)
	if cb := callbackOf(t, f, mark, ia); num(cb["type"]) != 6 {
		t.Errorf("close acknowledged with %v, want 6 (deferred update)", cb)
	}
	told := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages"))
	if told["content"] != "<@"+alice+"> "+bot.HandoffClosedNotice {
		t.Errorf("closed notice = %q", told["content"])
	}
	assertNoMentions(t, "closed notice", told, alice)
	edit := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	assertNoMentions(t, "closed post", edit)
	ee := edit["embeds"].([]any)[0].(map[string]any)
	if len(ids(edit)) != 0 || !strings.Contains(fieldValues(ee), "Closed by <@"+staff+">") {
		t.Errorf("closed post = %v components %v", ee, ids(edit))
	}
	if !strings.Contains(ee["description"].(string), "Backup size") {
		t.Errorf("closing lost the summary: %v", ee)
	}

	// Alice is answered again: her next message starts afresh.
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, "hello again", false))
	if m := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages")); !strings.Contains(m["content"].(string), "Let's get your WhatsApp backup working") {
		t.Errorf("after close = %q", m["content"])
	}

	// A second click (another staff member, a stale client): already
	// closed, said privately; the button goes.
	mark = f.Mark()
	ia = asStaff(f.click(testGuild, staff, postMsg, closeID), supportRole)
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if fu["content"] != alreadyClosedNote || num(fu["flags"]) != 64 {
		t.Errorf("second close = %v", fu)
	}
	edit = body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if len(ids(edit)) != 0 {
		t.Errorf("button kept: %v", ids(edit))
	}

	sent, bad := massPings(t, f, []string{alice}, []string{supportRole})
	t.Logf("handoff: %d messages sent, %d could mass-ping", sent, bad)
}

func TestCloseWithoutCloser(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng := handoffEngine(t)
	a, _ := runBot(t, f, handoffConfig(f), handleOnly{eng})
	addr := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, User: alice}
	if err := a.PostHandoff(ctxT(t), bot.Handoff{Address: addr, Guide: "wa", Summary: "**Answers**\n- none", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	post := f.lastWithComponents(supportChannel, "ts1|x|")
	e := post["embeds"].([]any)[0].(map[string]any)
	if e["title"] != "wa" {
		t.Errorf("title falls back to the guide id: %v", e["title"])
	}
	mark := f.Mark()
	ia := asStaff(f.click(testGuild, staff, post, ids(post)[0]), supportRole)
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	if d, _ := cb["data"].(map[string]any); num(cb["type"]) != 4 || num(d["flags"]) != 64 || d["content"] != closeUnsupportedNote {
		t.Errorf("close without a closer = %v", cb)
	}
}

func TestPostHandoffErrors(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	cfg := testConfig(f)
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dm := bot.Address{Platform: Platform, Channel: "7700000000000000001", User: alice}
	if a.HandsOff() || a.PostHandoff(ctxT(t), bot.Handoff{Address: dm}) == nil {
		t.Error("PostHandoff without a support channel should fail")
	}
	cfg.SupportChannel = supportChannel
	a, _ = New(cfg, nil)
	if err := a.PostHandoff(ctxT(t), bot.Handoff{Address: bot.Address{Platform: "slack", Channel: "C1", User: "U1"}}); err == nil {
		t.Error("a Slack address was posted")
	}
	// A DM conversation links to @me; with no support role nothing at
	// all may ping.
	if err := a.PostHandoff(ctxT(t), bot.Handoff{Address: dm, GuideTitle: "T", Summary: strings.Repeat("- a line of the summary @everyone\n", 500)}); err != nil {
		t.Fatal(err)
	}
	p := body(t, f.waitCall(0, "POST", "/api/v9/channels/"+supportChannel+"/messages"))
	assertNoMentions(t, "post without role", p)
	e := p["embeds"].([]any)[0].(map[string]any)
	fields := fieldValues(e)
	if !strings.Contains(fields, "https://discord.com/channels/@me/7700000000000000001") {
		t.Errorf("DM link missing: %s", fields)
	}
	if d := e["description"].(string); discordLen(d) > maxEmbedDescription || !strings.HasSuffix(d, "more lines)") {
		t.Errorf("long summary: %d characters, ends %q", discordLen(d), d[max(0, len(d)-40):])
	}
	if ids(p)[0] != "ts1|x|"+alice+"|7700000000000000001|." {
		t.Errorf("DM close id = %v", ids(p))
	}
	// Discord refusing the post is an error for the engine to retry.
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + supportChannel, Count: 1, Status: 403})
	if err := a.PostHandoff(ctxT(t), bot.Handoff{Address: dm}); err == nil {
		t.Error("a refused post returned nil")
	}
}

// TestQuietResultsAreAcknowledged: a non-duplicate Result with no
// replies (the engine while staff have a conversation) is acknowledged
// on every path, posts nothing empty and logs no error.
func TestQuietResultsAreAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	quiet := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		return bot.Result{Step: "end", Done: true, Outcome: bot.OutcomeEscalated}, nil
	})
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dmID := "7700000000000000003"
	for _, mode := range []string{ModeThread, ModeEphemeral, ModeDM} {
		cfg := testConfig(f)
		cfg.Mode = mode
		a, err := New(cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctxT(t))
		done := make(chan error, 1)
		f.mu.Lock()
		n := len(f.identifies)
		f.mu.Unlock()
		go func() { done <- a.Run(ctx, quiet) }()
		f.waitConnected(n + 1)

		// A typed DM: nothing is posted.
		mark := f.Mark()
		f.dispatch("MESSAGE_CREATE", f.messageCreate("", dmID, alice, "anyone there?", false))
		// A click: acknowledged by disabling the buttons, no followup.
		q := map[string]any{"id": "1100000000000000999", "channel_id": dmID, "components": []any{}}
		f.mu.Lock()
		f.messages["1100000000000000999"] = map[string]any{"id": "1100000000000000999", "channel_id": dmID, "content": "q", "components": []any{}}
		f.mu.Unlock()
		ia := f.click("", alice, q, "ts1|c|"+alice+"|s|on")
		f.dispatch("INTERACTION_CREATE", ia)
		if cb := callbackOf(t, f, mark, ia); num(cb["type"]) != 7 && num(cb["type"]) != 6 {
			t.Errorf("%s: click = %v", mode, cb)
		}
		// A modal submit: acknowledged, no followup.
		ia2 := f.submit("", alice, q, "ts1|m|"+alice+"|s|text", "hello")
		f.dispatch("INTERACTION_CREATE", ia2)
		callbackOf(t, f, mark, ia2)
		// /troubleshoot: the deferred response becomes the quiet note.
		ia3 := f.slash(testGuild, testChannel, alice)
		if mode == ModeThread {
			ia3 = f.slash("", dmID, alice) // in a guild it would open a new thread
		}
		f.dispatch("INTERACTION_CREATE", ia3)
		switch mode {
		case ModeThread: // in a DM: public deferred, deleted, private note
			f.waitCall(mark, "DELETE", "/api/v9/webhooks/*/"+ia3["token"].(string)+"/messages/@original")
			if fu := followupOf(t, f, mark, ia3); fu["content"] != quietNote || num(fu["flags"]) != 64 {
				t.Errorf("%s: slash note = %v", mode, fu)
			}
		default: // private deferred: edited into the note
			orig := body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/*/"+ia3["token"].(string)+"/messages/@original"))
			// In a server conversation without the Message Content intent,
			// "say restart" becomes the subcommand; DMs are read.
			want := quietNote
			if mode == ModeEphemeral {
				want = unreadable.Replace(quietNote)
			}
			if orig["content"] != want || !strings.Contains(want, "restart") {
				t.Errorf("%s: slash note = %v", mode, orig)
			}
		}
		time.Sleep(100 * time.Millisecond)
		for _, c := range f.Calls()[mark:] {
			if c.Status >= 400 {
				t.Errorf("%s: %d %s %s", mode, c.Status, c.Method, c.Path)
			}
			// Private notes are fine; nothing public may be posted.
			if c.Method == "POST" && (pathMatch("/api/v9/channels/*/messages", c.Path) ||
				pathMatch("/api/v9/webhooks/*/*", c.Path) && num(c.JSON(t)["flags"])&64 == 0) {
				t.Errorf("%s: posted %s %s", mode, c.Path, c.Body)
			}
		}
		cancel()
		<-done
	}
	if s := logs.String(); strings.Contains(s, "level=ERROR") || strings.Contains(s, "level=WARN") {
		t.Errorf("quiet results logged trouble:\n%s", s)
	}
}

// fieldValues joins an embed's field names and values.
func fieldValues(e map[string]any) string {
	var b strings.Builder
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		fm, _ := f.(map[string]any)
		n, _ := fm["name"].(string)
		v, _ := fm["value"].(string)
		b.WriteString(n + ": " + v + "\n")
	}
	return b.String()
}

// TestCloseOnlyFromTheSupportChannel: a Close click is honoured only from
// the support channel (found in review: the channel was not checked).
func TestCloseOnlyFromTheSupportChannel(t *testing.T) {
	a, err := New(Config{Token: "t", ApplicationID: "1", SupportChannel: "123", SupportRole: "77"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	staff := &discordgo.Member{Roles: []string{"77"}}
	for _, tc := range []struct {
		name string
		i    *discordgo.Interaction
		want bool
	}{
		{"staff in the support channel", &discordgo.Interaction{ChannelID: "123", Member: staff}, true},
		{"staff elsewhere", &discordgo.Interaction{ChannelID: "999", Member: staff}, false},
		{"a DM", &discordgo.Interaction{ChannelID: "555"}, false},
		{"no role in the support channel", &discordgo.Interaction{ChannelID: "123", Member: &discordgo.Member{}}, false},
	} {
		if got := a.mayClose(tc.i); got != tc.want {
			t.Errorf("%s: mayClose = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSummaryToDiscord(t *testing.T) {
	in := "**Answers**\n- Backup size: 3 GB <@&1> [x](http://e)\n- iOS: **17** `x`\n**Fixes tried**\n- Update iOS: didn't help\n# not a heading"
	want := "**Answers**\n- Backup size\\: 3 GB \\<\\@&1\\> \\[x\\]\\(http\\://e\\)\n- iOS\\: \\*\\*17\\*\\* \\`x\\`\n**Fixes tried**\n- Update iOS\\: didn't help\n\\# not a heading"
	if got := summaryToDiscord(in, 4096); got != want {
		t.Errorf("summaryToDiscord =\n%s\nwant\n%s", got, want)
	}
	long := strings.Repeat("- answer line\n", 1000)
	got := summaryToDiscord(long, 200)
	if discordLen(got) > 200 || !strings.HasSuffix(got, "more lines)") {
		t.Errorf("long summary: %d characters: %q", discordLen(got), got)
	}
	if got := summaryToDiscord("", 100); got != "(no summary)" {
		t.Errorf("empty summary = %q", got)
	}
}

// FuzzSummaryToDiscord: whatever the person typed into a summary, the
// description fits the limit and holds no live mention, link or fence.
func FuzzSummaryToDiscord(f *testing.F) {
	f.Add("**Answers**\n- size: 3 GB\n**Fixes tried**\n- x: didn't help", 4096)
	f.Add("- <@&1> @everyone [x](http://e) ```", 50)
	f.Add(strings.Repeat("- line\n", 100), 120)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = 40 + abs(limit)%5000
		got := summaryToDiscord(s, limit)
		if discordLen(got) > limit {
			t.Fatalf("%d characters, limit %d", discordLen(got), limit)
		}
		for _, bad := range []string{"<@", "](", "```", "\u202e"} {
			if strings.Contains(unescaped(got), bad) {
				t.Fatalf("%q kept %q live: %q", s, bad, got)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}
