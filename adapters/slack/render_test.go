package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

func TestParseActionValue(t *testing.T) {
	tests := []parseCase[actionRef]{
		{in: "tb1|1700000000.000101|U1|icloud_access|on|1", want: actionRef{Thread: "1700000000.000101", User: "U1", Step: "icloud_access", Choice: "on", GuideVersion: "1"}},
		{in: "tb1||U1|backup_size|where|", want: actionRef{User: "U1", Step: "backup_size", Choice: "where"}},
		{in: "tb1|t|U1|st%7Cep|a%25b|", want: actionRef{Thread: "t", User: "U1", Step: "st|ep", Choice: "a%b"}},
		{in: "", wantErr: "not a troubleshooter"},
		{in: "something else", wantErr: "not a troubleshooter"},
		{in: "tb2|t|U1|s|c|", wantErr: "not a troubleshooter"},
		{in: "tb1|t|U1|s|c", wantErr: "5 fields"},
		{in: "tb1|t|U1|s|c||", wantErr: "7 fields"},
		{in: "tb1|t||s|c|", wantErr: "no user"},
		{in: "tb1|t|U1||c|", wantErr: "no step"},
		{in: "tb1|t|U1|s||", wantErr: "no choice"},
		{in: "tb1|t|U1|s%2|c|", wantErr: "bad escape"},
		{in: "tb1|t|U1|s%41|c|", wantErr: "bad escape"},
		{in: "tb1|" + strings.Repeat("x", 2000) + "|U1|s|c|", wantErr: "more than 2000"},
	}
	checkParse(t, "parseActionValue", parseActionValue, "String()", actionRef.String, tests)
}

// FuzzParseActionValue: parsing never panics; whatever parses encodes
// back to a value that parses to the same reference; any reference with
// the required fields survives a round trip.
func FuzzParseActionValue(f *testing.F) {
	f.Add("tb1|1700000000.000101|U1|icloud_access|on|1", "", "", "", "")
	f.Add("tb1|t|U1|st%7Cep|a%25b|", "t|", "U%", "s", "c")
	f.Add("tb1|||||", "", "U", "s", "c")
	f.Fuzz(func(t *testing.T, v, thread, user, step, choice string) {
		if r, err := parseActionValue(v); err == nil {
			r2, err := parseActionValue(r.String())
			if err != nil || r2 != r {
				t.Fatalf("round trip of %q: %+v → %+v, %v", v, r, r2, err)
			}
		}
		ref := actionRef{Thread: thread, User: user, Step: step, Choice: choice}
		got, err := parseActionValue(ref.String())
		switch {
		case user == "" || step == "" || choice == "" || len(ref.String()) > maxActionValue:
			if err == nil {
				t.Fatalf("accepted %+v", ref)
			}
		case err != nil || got != ref:
			t.Fatalf("round trip of %+v: %+v, %v", ref, got, err)
		}
	})
}

func TestMrkdwn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"**bold** and *italic*", "*bold* and _italic_"},
		{"Open **Settings → General**", "Open *Settings → General*"},
		{"- one\n- two", "• one\n• two"},
		{"  - indented", "  • indented"},
		{"a < b & c > d", "a &lt; b &amp; c &gt; d"},
		{"<!channel> <!here> <!everyone> <@U1> <https://x|y>", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U1&gt; &lt;https://x|y&gt;"},
		{"`**code**` **b**", "`**code**` *b*"},
		{"1. **iOS:** do it", "1. *iOS:* do it"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tc := range tests {
		if got := mrkdwn(tc.in); got != tc.want {
			t.Errorf("mrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzMrkdwn: whatever the text, the output has no raw < or > (so no
// mention, broadcast or link can form) and every & starts an entity.
func FuzzMrkdwn(f *testing.F) {
	f.Add("**bold** <!channel> & - list")
	f.Add("&lt;!here&gt;")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{mrkdwn(s), plain(s), escape(s)} {
			checkEscaped(t, out)
		}
		for _, part := range chunks(mrkdwn(s), 50) {
			checkEscaped(t, part)
			if utf8.RuneCountInString(part) > 50 {
				t.Fatalf("chunk of %d runes", utf8.RuneCountInString(part))
			}
		}
		checkEscaped(t, clip(mrkdwn(s), 7))
	})
}

func checkEscaped(t *testing.T, out string) {
	t.Helper()
	if strings.ContainsAny(out, "<>") {
		t.Fatalf("raw < or > in %q", out)
	}
	for i := 0; i < len(out); i++ {
		if out[i] == '&' && !strings.HasPrefix(out[i:], "&amp;") && !strings.HasPrefix(out[i:], "&lt;") && !strings.HasPrefix(out[i:], "&gt;") {
			t.Fatalf("bare & at %d in %q", i, out)
		}
	}
}

func TestChunksAndClip(t *testing.T) {
	long := strings.Repeat("word ", 1000) + strings.Repeat("&amp;", 700)
	parts := chunks(long, maxSectionText)
	if len(parts) < 2 {
		t.Fatalf("%d chunks", len(parts))
	}
	if got := strings.Join(parts, ""); strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(long, " ", "") {
		t.Error("chunks lost text")
	}
	for _, p := range parts {
		if utf8.RuneCountInString(p) > maxSectionText {
			t.Errorf("chunk of %d runes", utf8.RuneCountInString(p))
		}
	}
	if got := clip("ab&amp;c", 4); got != "ab" {
		t.Errorf("clip cut an entity: %q", got)
	}
	if got := clip("héllo", 2); got != "hé" {
		t.Errorf("clip = %q", got)
	}
}

func TestRenderTurn(t *testing.T) {
	replies := []bot.Reply{
		{Text: "Got it: **3 GB** <@U2>"},
		{Text: "Is it on?", Choices: []bot.Choice{{ID: "on", Label: "It's on"}, {ID: "off", Label: strings.Repeat("L", 100)}}},
		{Text: "How big?", Input: "size", Choices: []bot.Choice{{ID: "where", Label: "Where do I find it?"}}},
	}
	msgs := renderTurn(replies, "icloud_access", convo{Thread: "1.2", User: "U1"})
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	js, _ := json.Marshal(msgs[0].Blocks)
	var blocks []map[string]any
	_ = json.Unmarshal(js, &blocks)
	types := []string{}
	for _, b := range blocks {
		types = append(types, b["type"].(string))
	}
	if got := strings.Join(types, ","); got != "section,section,actions,section,actions,context" {
		t.Errorf("block types = %s", got)
	}
	if s := string(js); strings.Contains(s, "<@U2>") || !strings.Contains(s, `*3 GB* \u0026lt;@U2\u0026gt;`) {
		t.Errorf("blocks = %s", s)
	}
	if strings.Contains(msgs[0].Text, "<@U2>") || strings.Contains(msgs[0].Text, "**") {
		t.Errorf("fallback text = %q", msgs[0].Text)
	}
	call := apiCall{Form: map[string][]string{"blocks": {string(js)}}}
	btns := buttonsOf(t, call)
	if len(btns) != 3 {
		t.Fatalf("%d buttons", len(btns))
	}
	for _, b := range btns {
		if utf8.RuneCountInString(b.Label) > maxButtonText || len(b.ActionID) > maxActionID || b.Ref.Thread != "1.2" || b.Ref.User != "U1" || b.Ref.Step != "icloud_access" {
			t.Errorf("button %+v", b)
		}
	}

	// Many choices and long text are split within Slack's limits.
	var many []bot.Choice
	for i := range 60 {
		many = append(many, bot.Choice{ID: strings.Repeat("c", 3) + string(rune('a'+i%26)) + strings.Repeat("x", i), Label: "x"})
	}
	var big []bot.Reply
	for range 30 {
		big = append(big, bot.Reply{Text: strings.Repeat("long text ", 700), Choices: many})
	}
	for _, m := range renderTurn(big, "s", convo{User: "U1"}) {
		if len(m.Blocks) > maxBlocks {
			t.Errorf("message with %d blocks", len(m.Blocks))
		}
		for _, b := range m.Blocks {
			if a, ok := b.(*slack.ActionBlock); ok && len(a.Elements.ElementSet) > maxButtons {
				t.Errorf("actions block with %d buttons", len(a.Elements.ElementSet))
			}
			if s, ok := b.(*slack.SectionBlock); ok && utf8.RuneCountInString(s.Text.Text) > maxSectionText {
				t.Errorf("section of %d characters", utf8.RuneCountInString(s.Text.Text))
			}
		}
		if utf8.RuneCountInString(m.Text) > maxFallback {
			t.Errorf("fallback text of %d characters", utf8.RuneCountInString(m.Text))
		}
	}
}

func TestStripMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<@UBOT> my backup fails", "my backup fails"},
		{"  <@UBOT>   hi", "hi"},
		{"hi <@UBOT> there", "hi  there"},
		{"<@UOTHER> <@UBOT> hi", "hi"},
		{"size is &lt;3 GB &amp; more", "size is <3 GB & more"},
		{"<@UBOT", "<@UBOT"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := stripMention(tc.in, "UBOT"); got != tc.want {
			t.Errorf("stripMention(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzStripMention(f *testing.F) {
	f.Add("<@UBOT> hi", "UBOT")
	f.Add("<@<@>>", "")
	f.Fuzz(func(t *testing.T, s, botUser string) {
		out := stripMention(s, botUser)
		if botUser != "" && !strings.Contains(botUser, ">") && strings.HasPrefix(strings.TrimSpace(out), "<@"+botUser+">") {
			t.Fatalf("mention left at the start of %q", out)
		}
	})
}

// TestHostileInputs sends hostile messages through the HTTP Events API
// endpoint: each gets a sane reply within Slack's limits, and no posted
// message contains a mention, broadcast or link token the person wrote.
func TestHostileInputs(t *testing.T) {
	inputs := []struct{ name, text string }{
		{"100 KB", strings.Repeat("my backup fails ", 6400)},
		{"NUL and control chars", "a\x00b\x01c\x1b[31mred\x7f\u0085 done\r\n"},
		{"RTL override", "invoice\u202Egnp.exe and \u2066isolate\u2069"},
		{"zero-width", "zero\u200b\u200c\u200dwidth\ufeff"},
		{"only emoji", "🔥🙂👍🏽👨‍👩‍👧"},
		{"<!channel>", "<!channel> help"},
		{"<!here>", "<!here|here>"},
		{"<!everyone>", "<!everyone>"},
		{"user mention", "<@U123> look"},
		{"<!subteam^S1>", "<!subteam^S1|@staff> help"},
		{"@channel", "@channel @here @everyone"},
		{"spoofed link", "<https://evil.example|click>"},
	}
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}})
	for i, in := range inputs {
		e.tr.event(t, eventPayload(e.id("Ev"), messageEvent(fmt.Sprintf("UH%d", i), fmt.Sprintf("DH%d", i), "", e.ts(), in.text)), 0)
	}
	answered, pings := 0, 0
	for i, in := range inputs {
		c, _ := e.fake.waitFor(0, "the reply to "+in.name, isPost(fmt.Sprintf("DH%d", i), ""))
		texts := strings.Join(allTexts(t, c), "\n")
		if !strings.Contains(texts, "Got it: ") || len(buttonsOf(t, c)) != 2 {
			t.Errorf("%s: not a sane reply: %.200q", in.name, texts)
			continue
		}
		answered++
		if tok := massPing(t, c); tok != "" {
			pings++
			t.Errorf("%s: the reply contains %q: %.300q", in.name, tok, texts)
		}
		if notVerbatim(t, c) {
			t.Errorf("%s: a mrkdwn text without verbatim", in.name)
		}
		for _, r := range texts {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Errorf("%s: the reply contains %U", in.name, r)
				break
			}
		}
		checkLimits(t, c)
	}
	// Nothing else was posted (one reply each).
	if n := e.fake.count(isMethod("chat.postMessage")); n != len(inputs) {
		t.Errorf("%d posts for %d messages", n, len(inputs))
	}
	t.Logf("hostile inputs: %d sent, %d answered, %d mass pings", len(inputs), answered, pings)
}
