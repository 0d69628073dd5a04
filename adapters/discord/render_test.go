package discord

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

func rowsOf(t *testing.T, comps []discordgo.MessageComponent) [][]discordgo.MessageComponent {
	t.Helper()
	var out [][]discordgo.MessageComponent
	for _, c := range comps {
		r, ok := c.(discordgo.ActionsRow)
		if !ok {
			t.Fatalf("component %T is not an action row", c)
		}
		out = append(out, r.Components)
	}
	return out
}

func TestComponentsButtons(t *testing.T) {
	var choices []bot.Choice
	for _, id := range strings.Split("a b c d e f g", " ") {
		choices = append(choices, bot.Choice{ID: id, Label: "Label " + id})
	}
	rows := rowsOf(t, components(bot.Reply{Choices: choices, Input: "size"}, alice, "st"))
	if len(rows) != 2 || len(rows[0]) != 5 || len(rows[1]) != 3 {
		t.Fatalf("rows = %d (%v)", len(rows), rows)
	}
	b := rows[0][0].(discordgo.Button)
	if b.CustomID != "ts1|c|"+alice+"|st|a" || b.Label != "Label a" || b.Style != discordgo.PrimaryButton {
		t.Errorf("first button = %+v", b)
	}
	typ := rows[1][2].(discordgo.Button)
	if typ.CustomID != "ts1|t|"+alice+"|st|size" || typ.Label != "Type the size" {
		t.Errorf("type button = %+v", typ)
	}
}

func TestComponentsSelectForLongLists(t *testing.T) {
	var choices []bot.Choice
	for i := range 30 {
		choices = append(choices, bot.Choice{ID: "c" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Label: strings.Repeat("L", 120)})
	}
	rows := rowsOf(t, components(bot.Reply{Choices: choices, Input: "text"}, alice, "st"))
	if len(rows) != 3 {
		t.Fatalf("want 2 select rows + type row, got %d", len(rows))
	}
	m1, m2 := rows[0][0].(discordgo.SelectMenu), rows[1][0].(discordgo.SelectMenu)
	if len(m1.Options) != 25 || len(m2.Options) != 5 || m1.CustomID == m2.CustomID {
		t.Errorf("menus: %d/%d options, ids %q %q", len(m1.Options), len(m2.Options), m1.CustomID, m2.CustomID)
	}
	if l := discordLen(m1.Options[0].Label); l > maxOptionLabel {
		t.Errorf("option label %d long", l)
	}
	// A choice id too long for a button's custom id also forces a menu.
	rows = rowsOf(t, components(bot.Reply{Choices: []bot.Choice{{ID: strings.Repeat("z", 80), Label: "Z"}}}, alice, "st"))
	if _, ok := rows[0][0].(discordgo.SelectMenu); !ok {
		t.Errorf("long choice id: got %T", rows[0][0])
	}
}

func TestRenderTurnGroupsAndSplits(t *testing.T) {
	long := strings.Repeat("word ", 500) // 2500 characters
	msgs := renderTurn([]bot.Reply{
		{Text: "Intro."},
		{Text: "Question?", Choices: []bot.Choice{{ID: "y", Label: "Yes"}}},
		{Text: long},
	}, alice, "q")
	if len(msgs) != 3 {
		t.Fatalf("got %d messages", len(msgs))
	}
	if msgs[0].Content != "Intro.\n\nQuestion?" || len(msgs[0].Components) != 1 {
		t.Errorf("first = %+v", msgs[0])
	}
	for _, m := range msgs {
		if discordLen(m.Content) > maxContent {
			t.Errorf("message of %d characters", discordLen(m.Content))
		}
	}
	if msgs[1].Components != nil || msgs[2].Components != nil {
		t.Error("text-only chunks carry components")
	}
	// A runaway reply is capped.
	msgs = renderTurn([]bot.Reply{{Text: strings.Repeat("x ", 20000)}}, alice, "q")
	if len(msgs) != maxMessagesPerTurn {
		t.Errorf("runaway: %d messages", len(msgs))
	}
}

func TestSplitContent(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  []string
	}{
		{"", 10, nil},
		{"short", 10, []string{"short"}},
		{"aaaa bbbb cccc", 10, []string{"aaaa bbbb", "cccc"}},
		{"para one\n\npara two", 12, []string{"para one", "para two"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"😀😀😀", 4, []string{"😀😀", "😀"}}, // 2 UTF-16 units each
	}
	for _, tt := range tests {
		got := splitContent(tt.in, tt.limit)
		if strings.Join(got, "§") != strings.Join(tt.want, "§") {
			t.Errorf("splitContent(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func FuzzSplitContent(f *testing.F) {
	f.Add("hello world\n\nagain", 7)
	f.Add("😀é\x00 x", 3)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 2 || limit > 3000 || !utf8.ValidString(s) {
			return
		}
		for _, p := range splitContent(s, limit) {
			if discordLen(p) > limit || p == "" || !utf8.ValidString(p) {
				t.Fatalf("piece %q (len %d) for limit %d", p, discordLen(p), limit)
			}
		}
	})
}

func TestEscapeMarkdown(t *testing.T) {
	tests := map[string]string{
		"3 GB":              "3 GB",
		"17.4.1":            "17.4.1",
		"**bold** _it_":     `\*\*bold\*\* \_it\_`,
		"@everyone <@123>":  `\@everyone \<\@123\>`,
		"`code` ||spoil||":  "\\`code\\` \\|\\|spoil\\|\\|",
		"> quote # head -x": `\> quote \# head \-x`,
		"[link](http://x)":  `\[link\]\(http\://x\)`,
	}
	for in, want := range tests {
		if got := escapeMarkdown(in); got != want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnsweredComponents(t *testing.T) {
	comps := components(bot.Reply{Choices: []bot.Choice{{ID: "on", Label: "On"}, {ID: "off", Label: "Off"}}}, alice, "s")
	used := "ts1|c|" + alice + "|s|off"
	rows := rowsOf(t, answeredComponents(comps, used, ""))
	on, off := rows[0][0].(discordgo.Button), rows[0][1].(discordgo.Button)
	if !on.Disabled || !off.Disabled || off.Style != discordgo.SuccessButton || on.Style != discordgo.SecondaryButton || off.Label != "Off" {
		t.Errorf("answered = %+v %+v", on, off)
	}
	// Pointer components, as discordgo decodes them, work the same.
	ptr := []discordgo.MessageComponent{&discordgo.ActionsRow{Components: []discordgo.MessageComponent{&discordgo.SelectMenu{CustomID: "m", Options: []discordgo.SelectMenuOption{{Label: "Lbl", Value: "v"}}}}}}
	if got := optionLabel(ptr, "m", "v"); got != "Lbl" {
		t.Errorf("optionLabel = %q", got)
	}
	rows = rowsOf(t, answeredComponents(ptr, "m", "Lbl"))
	if m := rows[0][0].(discordgo.SelectMenu); !m.Disabled || m.Placeholder != "✓ Lbl" {
		t.Errorf("select = %+v", m)
	}
}

func TestLightToDiscord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Is **WhatsApp** allowed?", "Is **WhatsApp** allowed?"},
		{"Update iOS:\n- open Settings\n- tap General", "Update iOS:\n- open Settings\n- tap General"},
		{"See https://support.apple.com/en-us/HT1", "See https://support.apple.com/en-us/HT1"},
		{"Got it: @everyone.", "Got it: \\@everyone."},
		{"<@&1> <@2> <#3> <t:4>", "\\<\\@&1\\> \\<\\@2\\> \\<\\#3\\> \\<t:4\\>"},
		// A markdown link never masks its address: it shows as text and the
		// bare URL (guides write links this way; a person's never hide).
		{"[click](https://evil)", "click (https://evil)"},
		{"see [Apple's status](https://www.apple.com/support/systemstatus/).", "see Apple's status (https://www.apple.com/support/systemstatus/)."},
		{"[x](<https://evil>)", "\\[x\\](\\<https://evil\\>)"},
		{"```go\nx\n```", "\\`\\`\\`go\nx\n\\`\\`\\`"},
		{"# big\n> quote\n||s|| ~~x~~ __u__", "\\# big\n\\> quote\n\\|\\|s\\|\\| \\~\\~x\\~\\~ \\_\\_u\\_\\_"},
		{"\\[x](y)", "\\\\\\[x\\](y)"},
		{"a\x00b\u202ec\u200bd\ufeffe\tf", "abcde\tf"},
		{"👨‍👩‍👧", "👨‍👩‍👧"},
	}
	for _, tt := range tests {
		if got := lightToDiscord(tt.in); got != tt.want {
			t.Errorf("lightToDiscord(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzLightToDiscord: whatever a reply's text holds (guide text with the
// person's answers in it), no mention, masked link, code span or hidden
// character survives the conversion live.
func FuzzLightToDiscord(f *testing.F) {
	for _, s := range []string{"Got it: <@&1> @everyone [x](http://e) ```x```", "**bold**\n- item", "\\[x](y)", "a\u202eb\u200bc\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := unescaped(lightToDiscord(s))
		for _, bad := range []string{"<", "[", "`", "@", "||", "~~", "\u202e", "\u200b", "\x00"} {
			if strings.Contains(got, bad) {
				t.Fatalf("%q kept %q live: %q", s, bad, lightToDiscord(s))
			}
		}
	})
}

func TestLongRepliesFitDiscordLimits(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	var choices []bot.Choice
	for i := range 12 {
		choices = append(choices, bot.Choice{ID: "c" + strings.Repeat("x", i), Label: strings.Repeat("Long label ", 12)})
	}
	long := strings.Repeat("Step: open **Settings** and tap the thing. @everyone\n", 100) // ~5,300 characters
	h := handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
		return bot.Result{Step: "s", Replies: []bot.Reply{{Text: long, Choices: choices, Input: "text"}}}, nil
	})
	cfg := testConfig(f)
	cfg.Mode = ModeEphemeral
	runBot(t, f, cfg, h)
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	var sent []fakeCall
	f.waitFor("4 messages", func() bool {
		sent = nil
		for _, c := range f.calls[mark:] {
			if c.Method == "PATCH" || c.Method == "POST" && strings.HasPrefix(c.Path, "/api/v9/webhooks/") {
				sent = append(sent, c)
			}
		}
		return len(sent) >= 3
	})
	total := 0
	for k, c := range sent {
		if c.Status != 200 {
			t.Fatalf("message %d rejected (%d): %s", k, c.Status, trimText(string(c.Body), 300))
		}
		m := body(t, c)
		assertNoMentions(t, "long reply", m)
		total += discordLen(m["content"].(string))
		if hasIDs := len(ids(m)) > 0; hasIDs != (k == len(sent)-1) {
			t.Errorf("message %d: components %v", k, ids(m))
		}
	}
	if total < 5000 {
		t.Errorf("only %d characters sent", total)
	}
	if got := ids(body(t, sent[len(sent)-1])); len(got) != 13 {
		t.Errorf("choices + type button = %d ids: %v", len(got), got)
	}
}

// hostileInputs are things people (or attackers) type.
var hostileInputs = []struct{ name, text string }{
	{"100 KB", strings.Repeat("A very long message @everyone <@&1> [x](https://evil) ", 1900)},
	{"NUL and controls", "a\x00b\x01c\x1b[31mred\x7f\u0085d"},
	{"RTL override", "invoice\u202Egnp.exe \u2066isolate\u2069"},
	{"zero-width", "@\u200beveryone <\u200b@123> a\ufeffb\u2060c"},
	{"only emoji", "🔥🔥👨‍👩‍👧🔥"},
	{"@everyone", "@everyone look"},
	{"@here", "@here look"},
	{"role", "<@&600000000000000001> help"},
	{"user", "<@700000000000000002> and <@!700000000000000002>"},
	{"masked link", "[click](https://evil.example) and [x](<https://evil.example>)"},
	{"code fence and headings", "```\n# heading\n-# small\n> quote\n||spoiler|| ~~strike~~ __under__ `code` \\[esc](http://e)\n```"},
}

func TestHostileInputs(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	runBot(t, f, testConfig(f), echoHandler)
	dm := "7700000000000000011"
	answered := 0
	for _, in := range hostileInputs {
		mark := f.Mark()
		f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm, alice, in.text, false))
		got := f.waitCall(mark, "POST", "/api/v9/channels/"+dm+"/messages")
		// Wait for the turn's last message: the one with the type button.
		f.waitFor(in.name+": the whole reply", func() bool {
			for _, c := range f.calls[mark:] {
				if strings.Contains(string(c.Body), "ts1|t|") {
					return true
				}
			}
			return false
		})
		if got.Status != 200 {
			t.Errorf("%s: reply rejected: %d %s", in.name, got.Status, trimText(string(got.Body), 200))
			continue
		}
		var all strings.Builder
		for _, c := range f.callsSince(mark, "POST", "/api/v9/channels/"+dm+"/messages") {
			m := body(t, c)
			assertNoMentions(t, in.name, m)
			all.WriteString(m["content"].(string))
		}
		out := all.String()
		if !strings.HasPrefix(out, "Got it: ") {
			t.Errorf("%s: reply = %q", in.name, trimText(out, 200))
			continue
		}
		for _, bad := range []string{"\x00", "\x1b", "\u202e", "\u2066", "\u200b", "\ufeff", "<@", "[click](", "[x](", "```", "\n# ", "||", "~~", "__"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: reply kept %q: %q", in.name, bad, trimText(out, 300))
			}
		}
		if strings.Contains(strings.ReplaceAll(out, `\@`, ""), "@everyone") || strings.Contains(strings.ReplaceAll(out, `\@`, ""), "@here") {
			t.Errorf("%s: unescaped mass mention in %q", in.name, trimText(out, 300))
		}
		if in.name == "only emoji" && !strings.Contains(out, "👨‍👩‍👧") {
			t.Errorf("emoji mangled: %q", out)
		}
		answered++
	}
	// The same through the modal: its echo in the question is escaped too.
	q := f.lastWithComponents(dm, "ts1|t|"+alice+"|s")
	mark := f.Mark()
	ia := f.submit("", alice, q, "ts1|m|"+alice+"|s|text", "<@&600000000000000001> [x](https://evil) \u202e @everyone")
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	d := cb["data"].(map[string]any)
	assertNoMentions(t, "modal answer", d)
	if c := d["content"].(string); strings.Contains(c, "<@&") || strings.Contains(c, "[x](") || strings.Contains(c, "\u202e") {
		t.Errorf("modal echo = %q", c)
	}
	followupOf(t, f, mark, ia)
	sent, bad := massPings(t, f, nil, nil)
	t.Logf("hostile inputs: %d sent, %d answered, %d mass pings (%d messages checked)", len(hostileInputs), answered, bad, sent)
	if answered != len(hostileInputs) || bad != 0 {
		t.Errorf("%d of %d answered, %d mass pings", answered, len(hostileInputs), bad)
	}
}
