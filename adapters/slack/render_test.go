package slack

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

func TestParseActionValue(t *testing.T) {
	tests := []struct {
		in      string
		want    actionRef
		wantErr string
	}{
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
	for _, tc := range tests {
		got, err := parseActionValue(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseActionValue(%.40q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseActionValue(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back := got.String(); back != tc.in {
			t.Errorf("String() = %q, want %q", back, tc.in)
		}
	}
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

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
		wantAPI string
	}{
		{name: "socket default", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, wantAPI: DefaultAPIURL},
		{name: "http", cfg: Config{Mode: "http", BotToken: "xoxb-1", SigningSecret: "s", APIURL: "https://slack-gov.com/api"}, wantAPI: "https://slack-gov.com/api/"},
		{name: "no tokens", cfg: Config{}, wantErr: []string{"bot_token is empty", "app_token is empty"}},
		{name: "user token", cfg: Config{BotToken: "xoxp-1", AppToken: "xapp-1"}, wantErr: []string{"does not start with xoxb-"}},
		{name: "bot token as app token", cfg: Config{BotToken: "xoxb-1", AppToken: "xoxb-2"}, wantErr: []string{"app_token does not start with xapp-"}},
		{name: "http without secret", cfg: Config{Mode: "http", BotToken: "xoxb-1"}, wantErr: []string{"signing_secret is empty"}},
		{name: "bad mode", cfg: Config{Mode: "rtm", BotToken: "xoxb-1"}, wantErr: []string{`slack.mode is "rtm"`}},
		{name: "upper-case mode", cfg: Config{Mode: "HTTP", BotToken: "xoxb-1", SigningSecret: "s"}, wantErr: []string{`slack.mode is "HTTP"`}},
		{name: "bad url", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "slack.com/api"}, wantErr: []string{"not an absolute http(s) URL"}},
		{name: "support channel and group", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: " C0123ABCD ", SupportGroup: "S0456EFGH"}, wantAPI: DefaultAPIURL},
		{name: "private support channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "G0123ABCD"}, wantAPI: DefaultAPIURL},
		{name: "support channel by name", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "#support"}, wantErr: []string{`slack.support_channel "#support" is not a channel id`, "Channel ID"}},
		{name: "lower-case support channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "c0123abcd"}, wantErr: []string{"slack.support_channel", "upper case"}},
		{name: "DM as support channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "D0123ABCD"}, wantErr: []string{"slack.support_channel"}},
		{name: "group by handle", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportChannel: "C1", SupportGroup: "@support-team"}, wantErr: []string{`slack.support_group "@support-team" is not a user group id`}},
		{name: "group without channel", cfg: Config{BotToken: "xoxb-1", AppToken: "xapp-1", SupportGroup: "S1"}, wantErr: []string{"support_group is set but slack.support_channel is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg, nil)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if a.cfg.APIURL != tc.wantAPI || a.Name() != "slack" {
					t.Errorf("api url %q name %q", a.cfg.APIURL, a.Name())
				}
				if a.HandsOff() != (tc.cfg.SupportChannel != "") || strings.TrimSpace(a.cfg.SupportChannel) != a.cfg.SupportChannel {
					t.Errorf("HandsOff() = %v with support_channel %q", a.HandsOff(), a.cfg.SupportChannel)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "xoxp-1") || strings.Contains(err.Error(), "xoxb-2") {
				t.Errorf("error leaks a token: %q", err)
			}
		})
	}
	if (Config{}).Enabled() || !(Config{BotToken: "xoxb-1"}).Enabled() {
		t.Error("Enabled")
	}
}

func TestPacer(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newPacer(time.Second, 2)
	p.now = func() time.Time { return now }
	if d := p.reserve("C1"); d != 0 {
		t.Fatalf("first = %v", d)
	}
	if d := p.reserve("C1"); d != 0 {
		t.Fatalf("burst = %v", d)
	}
	if d := p.reserve("C1"); d != time.Second {
		t.Fatalf("third = %v, want 1s", d)
	}
	if d := p.reserve("C2"); d != 0 {
		t.Fatalf("other channel = %v", d)
	}
	now = now.Add(500 * time.Millisecond)
	if d := p.reserve("C1"); d != 500*time.Millisecond {
		t.Fatalf("half refilled = %v", d)
	}
	now = now.Add(500 * time.Millisecond)
	if d := p.reserve("C1"); d != 0 {
		t.Fatalf("refilled = %v", d)
	}
	p.hold(3 * time.Second)
	if d := p.reserve("C9"); d != 3*time.Second {
		t.Fatalf("after a 429 = %v, want 3s for every channel", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx, "C9"); err == nil {
		t.Fatal("wait ignored its context")
	}
}

func TestDedupe(t *testing.T) {
	d := newDedupe(time.Minute)
	now := time.Unix(0, 0)
	d.now = func() time.Time { return now }
	if !d.first("a") || d.first("a") || !d.first("b") || !d.first("") || !d.first("") {
		t.Fatal("first")
	}
	now = now.Add(2 * time.Minute)
	if !d.first("a") {
		t.Error("id still remembered after its TTL")
	}
	d.forget("a")
	if !d.first("a") {
		t.Error("forget")
	}
}

// TestAcceptConcurrentCopies: while the first copy of a delivery waits for
// queue room, a second copy is not acknowledged as its duplicate: it waits
// for the first's outcome and, when the first is refused, tries itself.
// (Before, the second got 200 and the first 503: Slack stops retrying
// after any 2xx, so the delivery was lost.)
func TestAcceptConcurrentCopies(t *testing.T) {
	ad := testAdapter(t)
	ad.queueWait = 150 * time.Millisecond
	for i := range ad.shards {
		ad.shards[i] = make(chan job) // no room and no worker: every enqueue times out
	}
	ad.running.Store(true)
	d := &delivery{id: "EvCopy", key: "k", do: func(context.Context) {}}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- ad.accept(context.Background(), d) }()
	}
	for range 2 {
		if err := <-errs; err == nil {
			t.Fatal("a copy was acknowledged although no copy could be queued")
		}
	}
	// With room again, the next copy is queued and later ones are
	// duplicates.
	for i := range ad.shards {
		ad.shards[i] = make(chan job, 1)
	}
	if err := ad.accept(context.Background(), d); err != nil {
		t.Fatalf("retry after the refusals: %v", err)
	}
	if err := ad.accept(context.Background(), d); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	queued := 0
	for _, ch := range ad.shards {
		queued += len(ch)
	}
	if queued != 1 {
		t.Errorf("%d jobs queued, want 1", queued)
	}
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
