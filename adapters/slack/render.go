package slack

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// Slack's documented limits that rendering respects.
const (
	maxSectionText = 3000 // characters in one section block's text
	maxBlocks      = 50   // blocks in one message
	maxButtonText  = 75   // characters in a button label
	maxButtons     = 25   // elements in one actions block
	maxActionValue = 2000 // characters in a button value
	maxActionID    = 255  // characters in an action_id
	maxFallback    = 3000 // characters of the notification text we send with blocks
)

// actionPrefix marks the action ids and values of our buttons; the digit is
// the encoding's version, so a later format can still read older buttons.
const actionPrefix = "tb1"

// escape makes text safe to send to Slack: &, < and > become entities, so
// nothing a person typed can turn into a mention, <!channel>, <!here>,
// <!everyone>, <!subteam^…> or a link. It also drops control characters
// (NUL and friends; newlines and tabs stay) and the bidirectional
// embedding, override and isolate characters, which could make echoed
// text read backwards and disguise what follows it.
func escape(s string) string {
	clean := true
	for _, r := range s {
		if r == '&' || r == '<' || r == '>' || r == utf8.RuneError || dropRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case dropRune(r):
		default:
			b.WriteRune(r) // invalid UTF-8 became U+FFFD in range
		}
	}
	return b.String()
}

// dropRune reports whether escape drops r.
func dropRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// mdText is a mrkdwn text object with verbatim set: Slack then does no
// automatic parsing of plain text (no linking of bare URLs, channel names
// or mention-like words), so only the <…> syntax the adapter wrote itself
// can link or mention. Text must already be escaped.
func mdText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

// mrkdwn converts the bot's light markdown to Slack mrkdwn, escaping first:
// **bold** becomes *bold*, *italic* becomes _italic_, and "- " list items
// become "• " bullets. Backtick code spans are left as they are. Markdown
// links become plain "text (url)", never Slack links: for texts that may
// hold what a person typed (handoff summaries, notes).
func mrkdwn(s string) string { return mrkdwnLinks(s, "", false) }

// mrkdwnLinks is mrkdwn for the guide's replies: with links set, a
// markdown link [text](https://…) becomes a Slack link <https://…|text>
// (verbatim leaves the bot's own <…> syntax alone, and links nothing
// else), unless the person typed its URL in typed (their words echoed
// back): that one, like every link when links is false, is shown as
// plain "text (url)". Only http(s) URLs without spaces, '|' or angle
// brackets are read as links; anything else stays as written, escaped.
func mrkdwnLinks(s, typed string, links bool) string {
	s = escape(strings.ToValidUTF8(s, "\uFFFD"))
	if typed != "" {
		typed = linkKey(escape(strings.ToValidUTF8(typed, "\uFFFD")))
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s))
	for i, line := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		trimmed := strings.TrimLeft(line, " ")
		if strings.HasPrefix(trimmed, "- ") || strings.HasPrefix(trimmed, "* ") {
			b.WriteString(line[:len(line)-len(trimmed)])
			b.WriteString("• ")
			line = trimmed[2:]
		}
		code := false
		for j := 0; j < len(line); j++ {
			c := line[j]
			switch {
			case c == '`':
				code = !code
				b.WriteByte(c)
			case code:
				b.WriteByte(c)
			case c == '[':
				label, url, n := markdownLink(line[j:])
				switch {
				case n == 0:
					b.WriteByte(c)
					continue
				case links && (typed == "" || !strings.Contains(typed, linkKey(url))):
					b.WriteString("<" + url + "|" + label + ">")
				default:
					b.WriteString(label + " (" + url + ")")
				}
				j += n - 1
			case c == '*' && j+1 < len(line) && line[j+1] == '*':
				b.WriteByte('*')
				j++
			case c == '*':
				b.WriteByte('_')
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// linkKey is s as compared when looking for a person's URL in an echo:
// lower case, without spaces or the invisible characters an echo may have
// dropped, so that a URL typed with a zero-width space in it still counts
// as typed.
func linkKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// markdownLink reads a markdown link [label](url) at the start of s, text
// already escaped (bot.MarkdownLink, and no escaped angle brackets in the
// address), and returns its label (without '|' or "**"), its URL and its
// length in bytes; n is 0 when s does not start with one.
func markdownLink(s string) (label, url string, n int) {
	label, url, n, ok := bot.MarkdownLink(s)
	if !ok || strings.Contains(url, "&lt;") || strings.Contains(url, "&gt;") {
		return "", "", 0
	}
	label = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(label, "**", ""), "|", "/"))
	if label == "" {
		return "", "", 0
	}
	return label, url, n
}

// plain strips the light markdown for notification text (which Slack shows
// in notifications, without formatting) and escapes it.
func plain(s string) string {
	s = strings.ReplaceAll(s, "**", "")
	return escape(strings.ToValidUTF8(s, "\uFFFD"))
}

// clip cuts s to at most n characters (runes), on a rune boundary, without
// leaving half an HTML entity at the end.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, count := 0, 0
	for i := range s {
		if count == n {
			cut = i
			break
		}
		count++
	}
	s = s[:cut]
	if amp := strings.LastIndexByte(s, '&'); amp >= 0 && amp > len(s)-6 && !strings.Contains(s[amp:], ";") {
		s = s[:amp]
	}
	return s
}

// chunks splits already-converted text into pieces of at most n characters,
// preferring line breaks, then spaces, and never cutting an entity.
func chunks(s string, n int) []string {
	var out []string
	for utf8.RuneCountInString(s) > n {
		head := clip(s, n)
		cut := strings.LastIndexByte(head, '\n')
		if cut < len(head)/2 {
			if sp := strings.LastIndexByte(head, ' '); sp > cut {
				cut = sp
			}
		}
		if cut <= 0 {
			cut = len(head)
		}
		out = append(out, s[:cut])
		s = strings.TrimLeft(s[cut:], "\n ")
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// actionRef is what a button carries: enough to route a click to its
// conversation and step after a restart, with no state in the adapter.
type actionRef struct {
	Thread       string // the conversation's thread ts, "" in a DM
	User         string // the person who started the conversation
	Step         string // the step whose question the button answers
	Choice       string // the choice id
	GuideVersion string // the guide version the question came from, when known
}

// String encodes the reference as a button value:
// tb1|thread|user|step|choice|guideversion.
func (r actionRef) String() string {
	return strings.Join([]string{actionPrefix, bot.EscapeRefField(r.Thread), bot.EscapeRefField(r.User),
		bot.EscapeRefField(r.Step), bot.EscapeRefField(r.Choice), bot.EscapeRefField(r.GuideVersion)}, "|")
}

var errNotOurs = errors.New("not a troubleshooter button")

// parseActionValue decodes a button value made by actionRef.String. It
// returns errNotOurs for values without our prefix and a descriptive error
// for malformed ones; it never panics, whatever the input.
func parseActionValue(v string) (actionRef, error) {
	if len(v) > maxActionValue {
		return actionRef{}, fmt.Errorf("button value is %d bytes, more than %d", len(v), maxActionValue)
	}
	parts := strings.Split(v, "|")
	if parts[0] != actionPrefix {
		return actionRef{}, errNotOurs
	}
	if len(parts) != 6 {
		return actionRef{}, fmt.Errorf("button value has %d fields, want 6", len(parts))
	}
	var f [5]string
	for i, p := range parts[1:] {
		d, err := bot.UnescapeRefField(p)
		if err != nil {
			return actionRef{}, fmt.Errorf("button value field %d: %w", i+1, err)
		}
		f[i] = d
	}
	r := actionRef{Thread: f[0], User: f[1], Step: f[2], Choice: f[3], GuideVersion: f[4]}
	switch {
	case r.User == "":
		return actionRef{}, errors.New("button value names no user")
	case r.Step == "":
		return actionRef{}, errors.New("button value names no step")
	case r.Choice == "":
		return actionRef{}, errors.New("button value names no choice")
	}
	return r, nil
}

// convo is where a rendered turn goes and whose it is.
type convo struct {
	Thread       string
	User         string
	GuideVersion string
	// Typed is what the person wrote in this turn: a markdown link in the
	// replies that they typed themselves is not made a link.
	Typed string
	// NoLinks shows every markdown link as plain "text (url)": for
	// replies whose turn is not known (the outbox, reminders), which may
	// echo what the person typed.
	NoLinks bool
}

// inputHints are shown under a question that expects a typed answer.
var inputHints = map[string]string{
	"size":    "Type the size as a reply, for example _3.2 GB_ or _800 MB_.",
	"version": "Type the version as a reply, for example _17.4.1_.",
	"number":  "Type the number as a reply.",
	"text":    "Type your answer as a reply.",
}

// renderTurn turns the replies of one turn into Slack messages: each a list
// of blocks (at most maxBlocks) and its notification text. Choices become
// buttons whose values carry c and step; text is converted and escaped.
func renderTurn(replies []bot.Reply, step string, c convo) []message {
	var msgs []message
	var cur message
	flush := func() {
		if len(cur.Blocks) > 0 {
			cur.Text = clip(strings.TrimSpace(cur.Text), maxFallback)
			msgs = append(msgs, cur)
		}
		cur = message{}
	}
	add := func(b slack.Block) {
		if len(cur.Blocks) == maxBlocks {
			flush()
		}
		cur.Blocks = append(cur.Blocks, b)
	}
	for ri, r := range replies {
		text := strings.TrimSpace(r.Text)
		if text != "" {
			for _, part := range chunks(mrkdwnLinks(text, c.Typed, !c.NoLinks), maxSectionText) {
				add(slack.NewSectionBlock(mdText(part), nil, nil))
			}
			if cur.Text != "" {
				cur.Text += "\n"
			}
			cur.Text += plain(text)
		}
		for start := 0; start < len(r.Choices); start += maxButtons {
			end := min(start+maxButtons, len(r.Choices))
			var buttons []slack.BlockElement
			for i, ch := range r.Choices[start:end] {
				ref := actionRef{Thread: c.Thread, User: c.User, Step: step, Choice: ch.ID, GuideVersion: c.GuideVersion}
				value := ref.String()
				if len(value) > maxActionValue {
					continue // cannot happen with sane ids; a click could not be routed
				}
				label := clip(strings.ReplaceAll(ch.Label, "**", ""), maxButtonText)
				if label == "" {
					label = clip(ch.ID, maxButtonText)
				}
				id := clip(fmt.Sprintf("%s:%d:%s", actionPrefix, start+i, ch.ID), maxActionID)
				buttons = append(buttons, slack.NewButtonBlockElement(id, value, slack.NewTextBlockObject(slack.PlainTextType, label, true, false)))
			}
			if len(buttons) > 0 {
				cur.Step = step
				add(slack.NewActionBlock(fmt.Sprintf("%s:q%d:%d", actionPrefix, ri, start), buttons...))
			}
		}
		if hint, ok := inputHints[r.Input]; ok {
			add(slack.NewContextBlock("", mdText(hint)))
		}
	}
	flush()
	return msgs
}

// message is one Slack message to post.
type message struct {
	Text   string
	Blocks []slack.Block
	// Step is the step whose question the message's buttons answer, ""
	// when it has none.
	Step string
}

// typedBlocks rebuilds a question message after a typed answer: its
// buttons become one context line quoting the answer (escaped), or, when
// the question was asked again in a newer message, a pointer to it. Other
// blocks are kept as they were.
func typedBlocks(orig []slack.Block, answer string, again bool) []slack.Block {
	line := slack.NewContextBlock("", mdText("↓ Asked again below."))
	if !again {
		line = slack.NewContextBlock("", mdText("✅ You answered: *"+escape(clip(strings.Join(strings.Fields(answer), " "), maxButtonText))+"*"))
	}
	out := make([]slack.Block, 0, len(orig))
	placed := false
	for _, b := range orig {
		if b.BlockType() == slack.MBTAction && strings.HasPrefix(b.ID(), actionPrefix+":q") {
			if !placed {
				out = append(out, line)
				placed = true
			}
			continue
		}
		out = append(out, b)
	}
	if !placed {
		out = append(out, line)
	}
	return out
}

// answeredBlocks rebuilds a question message after a click: the clicked
// actions block becomes a context line naming the chosen answer, so the
// buttons are no longer live. Other blocks are kept as they were.
func answeredBlocks(orig []slack.Block, blockID, label string) []slack.Block {
	out := make([]slack.Block, 0, len(orig))
	replaced := false
	for _, b := range orig {
		if b.BlockType() == slack.MBTAction && b.ID() == blockID {
			out = append(out, answeredContext(label))
			replaced = true
			continue
		}
		out = append(out, b)
	}
	if !replaced {
		out = append(out, answeredContext(label))
	}
	return out
}

func answeredContext(label string) slack.Block {
	return slack.NewContextBlock("", mdText("✅ You chose: *"+escape(clip(label, maxButtonText))+"*"))
}

// stripMention removes a leading mention of the bot (and any other
// leading mention syntax) from a message's text.
func stripMention(text, botUser string) string {
	t := strings.TrimSpace(text)
	if botUser != "" {
		t = strings.ReplaceAll(t, "<@"+botUser+">", "")
	}
	for strings.HasPrefix(t, "<@") {
		end := strings.IndexByte(t, '>')
		if end < 0 {
			break
		}
		t = strings.TrimSpace(t[end+1:])
	}
	return strings.TrimSpace(unescapeEntities(t))
}

// unescapeEntities undoes Slack's escaping of &, < and > in message text, so
// the engine sees what the person typed ("<3 GB" stays "<3 GB").
func unescapeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
