package discord

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

func TestParseCustomID(t *testing.T) {
	tests := []struct {
		in      string
		want    customID
		wantErr string // substring; "" for success
	}{
		{"ts1|c|700000000000000001|icloud|on", customID{Kind: kindChoice, Owner: alice, Step: "icloud", Choice: "on"}, ""},
		{"ts1|t|700000000000000001|size|size", customID{Kind: kindType, Owner: alice, Step: "size", Choice: "size"}, ""},
		{"ts1|m|700000000000000001|size|", customID{Kind: kindModal, Owner: alice, Step: "size"}, ""},
		{"ts1|s|1|step|2", customID{Kind: kindSelect, Owner: "1", Step: "step", Choice: "2"}, ""},
		{"ts1|c|1|a%7Cb|x%25y", customID{Kind: kindChoice, Owner: "1", Step: "a|b", Choice: "x%y"}, ""},
		{"", customID{}, "not a troubleshooter"},
		{"ts0|c|1|s|c", customID{}, "not a troubleshooter"},
		{"other-bot:button", customID{}, "not a troubleshooter"},
		{"ts1|c|1|s", customID{}, "4 parts"},
		{"ts1|c|1|s|c|extra", customID{}, "6 parts"},
		{"ts1|z|1|s|c", customID{}, "unknown kind"},
		{"ts1|c|1|s|", customID{}, "needs a choice"},
		{"ts1|c|abc|s|c", customID{}, "not a Discord user id"},
		{"ts1|c||s|c", customID{}, "not a Discord user id"},
		{"ts1|c|123456789012345678901|s|c", customID{}, "not a Discord user id"},
		{"ts1|c|1||c", customID{}, "empty step"},
		{"ts1|c|1|s%|c", customID{}, "bad escape"},
		{"ts1|c|1|s|%7", customID{}, "bad escape"},
		{"ts1|c|1|" + strings.Repeat("s", 100) + "|c", customID{}, "longer than"},
	}
	for _, tt := range tests {
		got, err := parseCustomID(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseCustomID(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseCustomID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseCustomID("x|y"); !errors.Is(err, errNotOurs) {
		t.Errorf("foreign id: err = %v, want errNotOurs", err)
	}
}

func TestEncodeCustomID(t *testing.T) {
	id, err := customID{Kind: kindChoice, Owner: alice, Step: "fix_delete_backup", Choice: "not_fixed"}.encode()
	if err != nil || id != "ts1|c|700000000000000001|fix_delete_backup|not_fixed" {
		t.Fatalf("encode = %q, %v", id, err)
	}
	if _, err := (customID{Kind: kindChoice, Owner: alice, Step: strings.Repeat("x", 60), Choice: strings.Repeat("y", 20)}).encode(); err == nil || !strings.Contains(err.Error(), "Discord allows 100") {
		t.Errorf("too long: err = %v", err)
	}
	if _, err := (customID{Kind: kindChoice, Owner: "bob", Step: "s", Choice: "c"}).encode(); err == nil {
		t.Error("bad owner encoded")
	}
}

func TestCloseCustomID(t *testing.T) {
	const g, c, th, u = "800000000000000001", "800000000000000002", "1100000000000000004", "700000000000000001"
	max20 := strings.Repeat("9", 20)
	tests := []struct {
		name    string
		addr    bot.Address
		want    string
		wantErr string
	}{
		{"thread", bot.Address{Platform: Platform, Workspace: g, Channel: c, Thread: th, User: u}, "ts1|x|" + u + "|" + c + "|" + g + "." + th, ""},
		{"channel", bot.Address{Platform: Platform, Workspace: g, Channel: c, User: u}, "ts1|x|" + u + "|" + c + "|" + g + ".", ""},
		{"dm", bot.Address{Platform: Platform, Channel: c, User: u}, "ts1|x|" + u + "|" + c + "|.", ""},
		{"longest ids", bot.Address{Platform: Platform, Workspace: max20, Channel: max20, Thread: max20, User: max20}, "ts1|x|" + max20 + "|" + max20 + "|" + max20 + "." + max20, ""},
		{"no user", bot.Address{Platform: Platform, Channel: c}, "", "owner"},
		{"no channel", bot.Address{Platform: Platform, User: u}, "", "channel"},
		{"slack ids", bot.Address{Platform: "slack", Workspace: "T1", Channel: "C1", User: "U1"}, "", "not a Discord"},
		{"thread without guild", bot.Address{Platform: Platform, Channel: c, Thread: th, User: u}, "", "<guild>.<thread>"},
		{"dotted guild", bot.Address{Platform: Platform, Workspace: "1.2", Channel: c, User: u}, "", "<guild>.<thread>"},
	}
	for _, tt := range tests {
		got, err := closeCustomID(tt.addr)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: closeCustomID = %q, %v; want an error with %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || len(got) > maxCustomID {
			t.Errorf("%s: closeCustomID = %q (%d), %v; want %q", tt.name, got, len(got), err, tt.want)
			continue
		}
		cid, err := parseCustomID(got)
		if err != nil || cid.Kind != kindClose || closeAddress(cid) != tt.addr {
			t.Errorf("%s: parse back = %+v → %+v, %v", tt.name, cid, closeAddress(cid), err)
		}
	}
	for _, bad := range []string{"ts1|x|1|2|3", "ts1|x|1|2|", "ts1|x|1|2|.3", "ts1|x|1|2|a.", "ts1|x|1|2|1.2.3.4", "ts1|x|1|2|1.2.0", "ts1|x|1|2|1.2.-3", "ts1|x|1|2|1.2.03", "ts1|x|1||1.", "ts1|x|1|c|1."} {
		if _, err := parseCustomID(bad); err == nil {
			t.Errorf("parseCustomID(%q) accepted", bad)
		}
	}
}

// FuzzCloseCustomID: every Discord address encodes within 100 characters
// or is refused, and what encodes parses back to the same address.
func FuzzCloseCustomID(f *testing.F) {
	f.Add("800000000000000001", "800000000000000002", "1100000000000000004", "700000000000000001")
	f.Add("", "7700000000000000001", "", "700000000000000001")
	f.Add("1.2", "3", "", "4")
	f.Add("", "3", "5", "4")
	f.Add(".", "0", "1", "0") // found by fuzzing: "..1" read back as a start time
	f.Fuzz(func(t *testing.T, guild, channel, thread, user string) {
		a := bot.Address{Platform: Platform, Workspace: guild, Channel: channel, Thread: thread, User: user}
		id, err := closeCustomID(a)
		if err != nil {
			return
		}
		if len(id) > maxCustomID {
			t.Fatalf("%+v encoded to %d characters", a, len(id))
		}
		c, err := parseCustomID(id)
		if err != nil || c.Kind != kindClose || closeAddress(c) != a {
			t.Fatalf("%+v → %q → %+v, %v", a, id, closeAddress(c), err)
		}
	})
}

func FuzzParseCustomID(f *testing.F) {
	for _, s := range []string{"ts1|c|1|icloud|on", "ts1|m|1|size|", "ts1|c|1|a%7Cb|x%25y", "ts1|s|1|s|2", "", "|||||", "ts1|c|1|%|%",
		"ts1|x|700000000000000001|800000000000000002|800000000000000001.1100000000000000004", "ts1|x|1|2|.", "ts1|x|1|2|.3", "ts1|x|1|2|1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCustomID(s)
		if err != nil {
			return
		}
		// Whatever parses must encode back to an id that parses the same.
		again, err := c.encode()
		if err != nil {
			t.Fatalf("parsed %q to %+v, which does not encode: %v", s, c, err)
		}
		c2, err := parseCustomID(again)
		if err != nil || c2 != c {
			t.Fatalf("round trip %q → %+v → %q → %+v, %v", s, c, again, c2, err)
		}
	})
}

func FuzzEncodeCustomID(f *testing.F) {
	f.Add("c", alice, "icloud", "on")
	f.Add("s", "1", "a|b%", "1")
	f.Fuzz(func(t *testing.T, kind, owner, step, choice string) {
		c := customID{Kind: kind, Owner: owner, Step: step, Choice: choice}
		s, err := c.encode()
		if err != nil {
			return
		}
		if len(s) > maxCustomID {
			t.Fatalf("encoded %d characters", len(s))
		}
		got, err := parseCustomID(s)
		if err != nil || got != c {
			t.Fatalf("%+v → %q → %+v, %v", c, s, got, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := Config{Token: "t", ApplicationID: "123"}
	tests := []struct {
		name    string
		mut     func(*Config)
		wantErr string
	}{
		{"minimal", func(*Config) {}, ""},
		{"no token", func(c *Config) { c.Token = " " }, "discord.token is empty"},
		{"bad app id", func(c *Config) { c.ApplicationID = "my-app" }, "discord.application_id"},
		{"bad guild", func(c *Config) { c.GuildIDs = []string{"x"} }, "discord.guild_ids"},
		{"bad mode", func(c *Config) { c.Mode = "channel" }, "discord.mode"},
		{"modes", func(c *Config) { c.Mode = ModeDM }, ""},
		{"bad api url", func(c *Config) { c.APIURL = "discord.com" }, "discord.api_url"},
		{"proxy", func(c *Config) { c.APIURL = "http://nirn:8080" }, ""},
		{"bad shard", func(c *Config) { c.ShardID, c.ShardCount = 2, 2 }, "discord.shard_id"},
		{"http without key", func(c *Config) { c.HTTPInteractions = true }, "discord.public_key"},
		{"http with key", func(c *Config) { c.HTTPInteractions, c.PublicKey = true, strings.Repeat("ab", 32) }, ""},
		{"support channel", func(c *Config) { c.SupportChannel = "800000000000000009" }, ""},
		{"support channel and role", func(c *Config) { c.SupportChannel, c.SupportRole = "800000000000000009", " 600000000000000001 " }, ""},
		{"support channel name", func(c *Config) { c.SupportChannel = "#support" }, "discord.support_channel"},
		{"support role mention", func(c *Config) { c.SupportChannel, c.SupportRole = "8", "<@&600000000000000001>" }, "discord.support_role"},
		{"support role name", func(c *Config) { c.SupportChannel, c.SupportRole = "8", "Support" }, "not a Discord role id"},
		{"support role without channel", func(c *Config) { c.SupportRole = "6" }, "support_channel is empty"},
	}
	for _, tt := range tests {
		c := good
		tt.mut(&c)
		_, err := New(c, nil)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: New error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	c, _ := good.validate()
	if c.Mode != ModeThread || c.APIURL != DefaultAPIURL || c.ShardCount != 1 {
		t.Errorf("defaults: %+v", c)
	}
	for _, tt := range []struct {
		channel string
		want    bool
	}{{"", false}, {"800000000000000009", true}} {
		c := good
		c.SupportChannel = tt.channel
		if a, err := New(c, nil); err != nil || a.HandsOff() != tt.want {
			t.Errorf("support_channel %q: HandsOff = %v, %v; want %v", tt.channel, a != nil && a.HandsOff(), err, tt.want)
		}
	}
	if (Config{}).Enabled() || !good.Enabled() {
		t.Error("Enabled should follow the token")
	}
}

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

func TestModalValue(t *testing.T) {
	tests := []struct {
		comps []discordgo.MessageComponent
		want  string
		ok    bool
	}{
		{nil, "", false},
		{[]discordgo.MessageComponent{&discordgo.ActionsRow{Components: []discordgo.MessageComponent{&discordgo.TextInput{Value: "3 GB"}}}}, "3 GB", true},
		{[]discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{Value: ""}}}}, "", true},
		{[]discordgo.MessageComponent{&discordgo.Button{}}, "", false},
	}
	for k, tt := range tests {
		got, ok := modalValue(tt.comps)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%d: modalValue = %q, %v", k, got, ok)
		}
	}
}

func TestStripMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<@42> my backup fails", "my backup fails"},
		{"hey <@!42>, help", "hey  , help"},
		{"<@43> not me", "<@43> not me"},
		{"  <@42>  ", ""},
	}
	for _, tt := range tests {
		if got := stripMention(tt.in, "42"); got != tt.want {
			t.Errorf("stripMention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFresh(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		ts string
		ok bool
	}{
		{"1700000000", true},
		{"1699999800", true},
		{"1700000299", true},
		{"1699999699", false},
		{"1700000301", false},
		{"", false},
		{"17e8", false},
		{"-1", false},
		{"99999999999999999999999", false},
	}
	for _, tt := range tests {
		if err := fresh(tt.ts, now); (err == nil) != tt.ok {
			t.Errorf("fresh(%q) = %v, want ok=%v", tt.ts, err, tt.ok)
		}
	}
}

func FuzzFresh(f *testing.F) {
	f.Add("1700000000")
	f.Add(" 12 ")
	f.Fuzz(func(t *testing.T, ts string) {
		now := time.Unix(1_700_000_000, 0)
		if fresh(ts, now) == nil {
			d := now.Sub(time.Unix(mustInt(t, ts), 0))
			if d > maxClockSkew || d < -maxClockSkew {
				t.Fatalf("%q accepted, %v off", ts, d)
			}
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	neg := false
	s = strings.TrimSpace(s)
	for i, c := range s {
		switch {
		case i == 0 && (c == '-' || c == '+'):
			neg = c == '-'
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
		default:
			t.Fatalf("accepted non-number %q", s)
		}
	}
	if neg {
		n = -n
	}
	return n
}

func TestRewriteTransport(t *testing.T) {
	var seen string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.URL.String()
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
	})
	base, _ := url.Parse("http://127.0.0.1:9/proxy/")
	rt := rewriteTransport(base, next)
	req, _ := http.NewRequest("GET", "https://discord.com/api/v9/gateway", nil)
	if _, err := rt.RoundTrip(req); err != nil || seen != "http://127.0.0.1:9/proxy/api/v9/gateway" {
		t.Errorf("rewrote to %q, %v", seen, err)
	}
	req, _ = http.NewRequest("GET", "https://cdn.example/x", nil)
	if _, _ = rt.RoundTrip(req); seen != "https://cdn.example/x" {
		t.Errorf("other hosts must pass through, got %q", seen)
	}
}

func TestStepRefCarriesTheGuideVersion(t *testing.T) {
	for _, c := range []struct{ step, version, ref string }{
		{"size", "3", "size@3"}, {"size", "", "size"}, {"fix_update", "2024-11", "fix_update@2024-11"},
	} {
		ref := stepRef(c.step, c.version)
		if ref != c.ref || stepOf(ref) != c.step || versionOf(ref) != c.version {
			t.Errorf("stepRef(%q, %q) = %q → %q, %q", c.step, c.version, ref, stepOf(ref), versionOf(ref))
		}
	}
}

func TestLightToDiscord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Is **WhatsApp** allowed?", "Is **WhatsApp** allowed?"},
		{"Update iOS:\n- open Settings\n- tap General", "Update iOS:\n- open Settings\n- tap General"},
		{"See https://support.apple.com/en-us/HT1", "See https://support.apple.com/en-us/HT1"},
		{"Got it: @everyone.", "Got it: \\@everyone."},
		{"<@&1> <@2> <#3> <t:4>", "\\<\\@&1\\> \\<\\@2\\> \\<\\#3\\> \\<t:4\\>"},
		{"[click](https://evil)", "\\[click\\](https://evil)"},
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

// unescaped drops every backslash-escaped character, leaving what Discord
// would interpret.
func unescaped(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = false
			b.WriteRune('_')
		case r == '\\':
			esc = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
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

// TestCloseCustomIDCarriesTheHandoffStart: the Close button names the
// handoff it was posted for, and fits Discord's 100 characters with the
// longest ids.
func TestCloseCustomIDCarriesTheHandoffStart(t *testing.T) {
	long := "18446744073709551615" // the largest snowflake: 20 digits
	a := bot.Address{Platform: Platform, Workspace: long, Channel: long, Thread: long, User: long}
	started := time.Unix(4102444800, 0) // 2100-01-01
	id, err := closeCustomIDAt(a, started)
	if err != nil || len(id) > 100 {
		t.Fatalf("closeCustomIDAt = %q (%d), %v; want at most 100 characters", id, len(id), err)
	}
	c, err := parseCustomID(id)
	if err != nil || closeAddress(c) != a || !closeStarted(c).Equal(started) {
		t.Errorf("%q parsed to %+v, %v, %v", id, closeAddress(c), closeStarted(c), err)
	}
	old, _ := closeCustomID(a) // posted before buttons carried the start
	if c, err := parseCustomID(old); err != nil || closeAddress(c) != a || !closeStarted(c).IsZero() {
		t.Errorf("old-style %q parsed to %+v, %v, %v", old, closeAddress(c), closeStarted(c), err)
	}
	for _, bad := range []string{id + "x!", strings.Replace(id, "."+strconv.FormatInt(started.Unix(), 36), ".0", 1), strings.Replace(id, "."+strconv.FormatInt(started.Unix(), 36), ".-1", 1)} {
		if _, err := parseCustomID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
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
