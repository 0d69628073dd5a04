package discord

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
)

const (
	supportChannel = "800000000000000009"
	supportRole    = "600000000000000001"
	staff          = "700000000000000009"
)

// handoffFlow is testFlow whose escalation hands the conversation to
// staff, with a summary holding the person's typed answers, and which,
// like flows.Runner, stays quiet while staff have it unless the person
// says "restart".
type handoffFlow struct{ testFlow }

func (f handoffFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	if s.HandedOff {
		if strings.TrimSpace(m.Text) != "restart" {
			return bot.Turn{}, nil
		}
		s.Reset(time.Now())
		return f.testFlow.Respond(s, m)
	}
	t, err := f.testFlow.Respond(s, m)
	if err == nil && s.Done && s.Outcome == bot.OutcomeEscalated {
		t.Handoff = &bot.Handoff{
			Key: s.Key, Address: s.Address, Guide: s.Guide, GuideTitle: "WhatsApp backup to iCloud",
			Summary: "**Answers**\n- Backup size: " + s.Answers["size"] + "\n- iOS version: " + s.Answers["ios"] +
				"\n**Fixes tried**\n- Update iOS: didn't help",
			Started: s.Started, At: time.Now(),
		}
	}
	return t, err
}

func handoffEngine(t testing.TB) *bot.Engine {
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	return bot.NewEngine(st, handoffFlow{}, bot.EngineConfig{}, nil)
}

func handoffConfig(f *fakeDiscord) Config {
	cfg := testConfig(f)
	cfg.SupportChannel, cfg.SupportRole, cfg.MessageContent = supportChannel, supportRole, true
	return cfg
}

// asStaff gives an interaction's member the support role and no
// permissions.
func asStaff(ia map[string]any, roles ...string) map[string]any {
	m := ia["member"].(map[string]any)
	rs := []any{}
	for _, r := range roles {
		rs = append(rs, r)
	}
	m["roles"], m["permissions"] = rs, "0"
	return ia
}

// massPings counts the messages sent so far (new messages, edits,
// interaction responses, followups) whose allowed_mentions would let
// anything but the listed users and roles be pinged: no allowed_mentions
// at all (Discord then parses every mention), a non-empty parse list, or
// other ids.
func massPings(t *testing.T, f *fakeDiscord, users, roles []string) (sent, bad int) {
	t.Helper()
	for _, c := range f.Calls() {
		isMsg := c.Method == "POST" && (pathMatch("/api/v9/channels/*/messages", c.Path) || pathMatch("/api/v9/webhooks/*/*", c.Path)) ||
			c.Method == "PATCH" && strings.Contains(c.Path, "/messages/") ||
			c.Method == "POST" && strings.HasSuffix(c.Path, "/callback")
		if !isMsg || len(c.Body) == 0 {
			continue
		}
		m := c.JSON(t)
		if strings.HasSuffix(c.Path, "/callback") {
			d, _ := m["data"].(map[string]any)
			if d == nil || num(m["type"]) == 9 || d["content"] == nil && d["embeds"] == nil {
				continue // a deferred response or a modal: nothing to ping with
			}
			m = d
		}
		sent++
		am, ok := m["allowed_mentions"].(map[string]any)
		if !ok {
			bad++
			t.Errorf("%s %s: no allowed_mentions: %s", c.Method, c.Path, trimText(string(c.Body), 300))
			continue
		}
		parse, _ := am["parse"].([]any)
		ok = am["parse"] != nil && len(parse) == 0
		for _, k := range []struct {
			key  string
			want []string
		}{{"users", users}, {"roles", roles}} {
			vs, _ := am[k.key].([]any)
			for _, v := range vs {
				s, _ := v.(string)
				if !slices.Contains(k.want, s) {
					ok = false
				}
			}
		}
		if !ok {
			bad++
			t.Errorf("%s %s: allowed_mentions %v", c.Method, c.Path, am)
		}
	}
	return sent, bad
}

// escalate walks alice through the thread conversation to the handoff,
// with size, and returns the thread.
func escalate(t *testing.T, f *fakeDiscord, size string) string {
	t.Helper()
	thread, q1 := startThread(t, f)
	mark := f.Mark()
	ia := f.click(testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	followupOf(t, f, mark, ia)
	mark = f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, size, false))
	f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages")
	q3 := f.lastWithComponents(thread, "ts1|t|"+alice+"|ios@1")
	answerByModal(t, f, q3, "ts1|t|"+alice+"|ios@1|version", "ts1|m|"+alice+"|ios@1|version", "17.4.1", "Got it: 17.4.1.")
	fix := f.lastWithComponents(thread, "ts1|c|"+alice+"|fix_update@1")
	mark = f.Mark()
	ia = f.click(testGuild, alice, fix, "ts1|c|"+alice+"|fix_update@1|not_fixed")
	f.dispatch("INTERACTION_CREATE", ia)
	fu := followupOf(t, f, mark, ia)
	if !strings.Contains(fu["content"].(string), "Please contact support") || !strings.Contains(fu["content"].(string), "a person will reply here") {
		t.Errorf("escalation turn = %q, want the escalation and bot.HandoffNotice", fu["content"])
	}
	return thread
}

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

func TestSendNotices(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	a, err := New(testConfig(f), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	// A thread conversation: to the thread, mentioning only the person.
	th := bot.Address{Platform: Platform, Workspace: testGuild, Channel: testChannel, Thread: "800000000000000077", User: alice}
	if err := a.Send(ctx, th, []bot.Reply{{Text: bot.NudgeNotice}}); err != nil {
		t.Fatal(err)
	}
	m := body(t, f.waitCall(0, "POST", "/api/v9/channels/800000000000000077/messages"))
	if m["content"] != "<@"+alice+"> "+bot.NudgeNotice {
		t.Errorf("nudge = %q", m["content"])
	}
	assertNoMentions(t, "nudge", m, alice)
	// A DM: no mention; choices are not turned into dead buttons.
	dm := bot.Address{Platform: Platform, Channel: "7700000000000000001", User: alice}
	mark := f.Mark()
	if err := a.Send(ctx, dm, []bot.Reply{{Text: "closed", Choices: []bot.Choice{{ID: "x", Label: "X"}}, Done: true}}); err != nil {
		t.Fatal(err)
	}
	m = body(t, f.waitCall(mark, "POST", "/api/v9/channels/7700000000000000001/messages"))
	if m["content"] != "closed" || len(ids(m)) != 0 {
		t.Errorf("dm notice = %v", m)
	}
	assertNoMentions(t, "dm notice", m)
	// Nothing to say sends nothing; bad addresses and cancelled contexts
	// are errors.
	mark = f.Mark()
	if err := a.Send(ctx, dm, []bot.Reply{{Text: "  "}}); err != nil || f.Mark() != mark {
		t.Errorf("empty send: %v, %d calls", err, f.Mark()-mark)
	}
	if err := a.Send(ctx, bot.Address{Platform: "slack", Channel: "C1"}, []bot.Reply{{Text: "x"}}); err == nil {
		t.Error("sent to a Slack address")
	}
	if err := a.Send(ctx, bot.Address{Platform: Platform, User: alice}, []bot.Reply{{Text: "x"}}); err == nil {
		t.Error("sent without a channel")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Send(cctx, dm, []bot.Reply{{Text: "x"}}); err == nil {
		t.Error("sent with a cancelled context")
	}
}

// TestSweeperNudgesThroughSend runs the engine's sweeper with the adapter
// as its sender.
func TestSweeperNudgesThroughSend(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	eng := handoffEngine(t)
	now := time.Now()
	eng.SetClock(func() time.Time { return now })
	a, _ := runBot(t, f, handoffConfig(f), eng)
	eng.SetSender(Platform, a)
	dm := "7700000000000000005"
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, "hi", false))
	f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
	time.Sleep(50 * time.Millisecond)
	now = now.Add(time.Hour)
	mark = f.Mark()
	st, err := eng.Sweep(ctxT(t))
	if err != nil || st.Nudged != 1 {
		t.Fatalf("sweep = %+v, %v", st, err)
	}
	if m := body(t, f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")); m["content"] != lightToDiscord(bot.NudgeNotice) {
		t.Errorf("nudge = %q", m["content"])
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
		if cb := callbackOf(t, f, mark, ia); num(cb["type"]) != 7 {
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
			if orig["content"] != quietNote {
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

// syncBuffer is a bytes.Buffer safe for concurrent writers (log handlers
// on several goroutines).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
