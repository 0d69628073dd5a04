package discord

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// Discord's limits (documented; the fake does not enforce them all).
const (
	maxContent       = 2000 // characters in a message's content
	maxButtonsPerRow = 5
	maxRows          = 5  // action rows per message
	maxButtons       = 25 // maxRows × maxButtonsPerRow
	maxSelectOptions = 25
	maxButtonLabel   = 80
	maxOptionLabel   = 100
	maxOptionValue   = 100
	maxModalTitle    = 45
	maxInputLabel    = 45
	maxPlaceholder   = 100
	// maxMessagesPerTurn bounds how many messages one turn may send, so a
	// runaway reply cannot flood a channel.
	maxMessagesPerTurn = 5
)

// noMentions is the allowed_mentions of every message the bot sends:
// nothing it says, echoes included, can ping anyone.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// outMsg is one Discord message to send.
type outMsg struct {
	Content    string
	Components []discordgo.MessageComponent
}

// renderTurn turns one turn's replies into as few Discord messages as fit:
// replies without choices are joined to the next one, the question's
// choices become components on the last chunk of its text, and text longer
// than Discord allows is split at line or word boundaries. owner and step
// go into the components' custom ids.
func renderTurn(replies []bot.Reply, owner, step string) []outMsg {
	var out []outMsg
	var text []string
	flush := func(comps []discordgo.MessageComponent) {
		content := strings.TrimSpace(strings.Join(text, "\n\n"))
		text = text[:0]
		if content == "" && len(comps) == 0 {
			return
		}
		chunks := splitContent(content, maxContent)
		for i, c := range chunks {
			m := outMsg{Content: c}
			if i == len(chunks)-1 {
				m.Components = comps
			}
			out = append(out, m)
		}
		if len(chunks) == 0 {
			out = append(out, outMsg{Content: "…", Components: comps})
		}
	}
	for _, r := range replies {
		if t := lightToDiscord(r.Text); strings.TrimSpace(t) != "" {
			text = append(text, t)
		}
		if len(r.Choices) > 0 || r.Input != "" {
			flush(components(r, owner, step))
		}
	}
	flush(nil)
	if len(out) > maxMessagesPerTurn {
		last := out[len(out)-1]
		out = append(out[:maxMessagesPerTurn-1], last)
		out[maxMessagesPerTurn-2].Content = trimContent(out[maxMessagesPerTurn-2].Content+"\n\n(…shortened)", maxContent)
	}
	return out
}

// components renders a question's choices and typed-answer button. Up to
// 25 controls become buttons, 5 per row; longer lists (or choice ids too
// long for a button's custom id) become select menus of up to 25 options.
func components(r bot.Reply, owner, step string) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	typeRow := typeButtonRow(r.Input, owner, step)
	extra := 0
	if typeRow != nil {
		extra = 1
	}
	var buttons []discordgo.MessageComponent
	useSelect := len(r.Choices)+extra > maxButtons
	for _, ch := range r.Choices {
		if useSelect {
			break
		}
		id, err := customID{Kind: kindChoice, Owner: owner, Step: step, Choice: ch.ID}.encode()
		if err != nil {
			useSelect = true
			break
		}
		buttons = append(buttons, discordgo.Button{
			Label:    trimText(ch.Label, maxButtonLabel),
			Style:    discordgo.PrimaryButton,
			CustomID: id,
		})
	}
	if !useSelect {
		if typeRow != nil {
			buttons = append(buttons, typeRow.Components...)
		}
		for i := 0; i < len(buttons); i += maxButtonsPerRow {
			rows = append(rows, discordgo.ActionsRow{Components: buttons[i:min(i+maxButtonsPerRow, len(buttons))]})
		}
		return rows
	}
	var opts []discordgo.SelectMenuOption
	for _, ch := range r.Choices {
		if ch.ID == "" || len(ch.ID) > maxOptionValue {
			continue
		}
		opts = append(opts, discordgo.SelectMenuOption{Label: trimText(ch.Label, maxOptionLabel), Value: ch.ID})
	}
	maxMenus := maxRows - extra
	for page := 0; page*maxSelectOptions < len(opts) && page < maxMenus; page++ {
		id, err := customID{Kind: kindSelect, Owner: owner, Step: step, Choice: strconv.Itoa(page + 1)}.encode()
		if err != nil {
			break // the step itself is too long; the typed answer remains
		}
		one := 1
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.SelectMenu{
			CustomID:    id,
			Placeholder: "Pick an answer",
			MinValues:   &one,
			MaxValues:   1,
			Options:     opts[page*maxSelectOptions : min((page+1)*maxSelectOptions, len(opts))],
		}}})
	}
	if typeRow != nil {
		rows = append(rows, *typeRow)
	}
	return rows
}

// typeButtonRow is the row holding the button that opens the typed-answer
// modal, or nil when the question takes no typed answer.
func typeButtonRow(input, owner, step string) *discordgo.ActionsRow {
	if input == "" {
		return nil
	}
	id, err := customID{Kind: kindType, Owner: owner, Step: step, Choice: input}.encode()
	if err != nil {
		return nil
	}
	return &discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{
		Label:    typeButtonLabel(input),
		Style:    discordgo.SecondaryButton,
		CustomID: id,
		Emoji:    &discordgo.ComponentEmoji{Name: "✏️"},
	}}}
}

func typeButtonLabel(input string) string {
	switch input {
	case "size":
		return "Type the size"
	case "version":
		return "Type the version"
	case "number":
		return "Type a number"
	default:
		return "Type your answer"
	}
}

// form is what labels a step's typed-answer modal: the step's title and
// an example of the expected answer (bot.Reply Title and Example).
type form struct{ title, example string }

// modalFor builds the typed-answer modal for a step (interaction response
// type 9): one text input whose value becomes Message.Text. Its title is
// the step's title and its placeholder the step's example, so that two
// questions of the same kind (a backup size and a free space) read
// differently; without them it falls back to words for the input kind that
// fit any guide.
func modalFor(input, owner, step string, fm form) (*discordgo.InteractionResponse, error) {
	id, err := customID{Kind: kindModal, Owner: owner, Step: step, Choice: input}.encode()
	if err != nil {
		return nil, err
	}
	label, placeholder, style, maxLen := "Your answer", "Type your answer", discordgo.TextInputParagraph, 1000
	switch input {
	case "size":
		label, placeholder, style, maxLen = "Size (with its unit: GB, MB…)", "For example 3.2 GB or 800 MB", discordgo.TextInputShort, 100
	case "version":
		label, placeholder, style, maxLen = "Version number", "Numbers and dots, as shown in the app", discordgo.TextInputShort, 100
	case "number":
		label, placeholder, style, maxLen = "Number", "For example 3", discordgo.TextInputShort, 100
	}
	title := "Your answer"
	if t := strings.TrimSpace(cleanText(fm.title)); t != "" {
		title = t
	}
	if e := strings.TrimSpace(cleanText(fm.example)); e != "" {
		placeholder = "For example " + e
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{
			CustomID: id,
			Title:    trimText(title, maxModalTitle),
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{
					CustomID:    "answer",
					Label:       trimText(label, maxInputLabel),
					Style:       style,
					Placeholder: trimText(placeholder, maxPlaceholder),
					Required:    true,
					MinLength:   1,
					MaxLength:   maxLen,
				},
			}}},
		},
	}, nil
}

// answeredComponents returns a message's components with every control
// disabled and the one the person used (customID) highlighted, so an
// answered question cannot be answered again and shows what was picked.
// picked, when not empty, replaces the highlighted control's label (the
// option a select menu was answered with, or a typed answer).
func answeredComponents(comps []discordgo.MessageComponent, usedID, picked string) []discordgo.MessageComponent {
	out := make([]discordgo.MessageComponent, 0, len(comps))
	for _, c := range comps {
		row, ok := asRow(c)
		if !ok {
			continue
		}
		inner := make([]discordgo.MessageComponent, 0, len(row.Components))
		for _, ic := range row.Components {
			switch v := ic.(type) {
			case *discordgo.Button:
				inner = append(inner, disableButton(*v, usedID, picked))
			case discordgo.Button:
				inner = append(inner, disableButton(v, usedID, picked))
			case *discordgo.SelectMenu:
				inner = append(inner, disableSelect(*v, usedID, picked))
			case discordgo.SelectMenu:
				inner = append(inner, disableSelect(v, usedID, picked))
			}
		}
		if len(inner) > 0 {
			out = append(out, discordgo.ActionsRow{Components: inner})
		}
	}
	return out
}

func disableButton(b discordgo.Button, usedID, picked string) discordgo.Button {
	b.Disabled = true
	if b.Style == discordgo.LinkButton {
		return b
	}
	if b.CustomID == usedID {
		b.Style = discordgo.SuccessButton
		if picked != "" {
			b.Label = trimText("✓ "+picked, maxButtonLabel)
			b.Emoji = nil
		}
	} else {
		b.Style = discordgo.SecondaryButton
	}
	return b
}

func disableSelect(m discordgo.SelectMenu, usedID, picked string) discordgo.SelectMenu {
	m.Disabled = true
	if m.CustomID == usedID && picked != "" {
		m.Placeholder = trimText("✓ "+picked, maxPlaceholder)
	}
	return m
}

// optionLabel finds the label of the option with value in a select menu
// among comps; "" when not found.
func optionLabel(comps []discordgo.MessageComponent, menuID, value string) string {
	for _, c := range comps {
		row, ok := asRow(c)
		if !ok {
			continue
		}
		for _, ic := range row.Components {
			var m discordgo.SelectMenu
			switch v := ic.(type) {
			case *discordgo.SelectMenu:
				m = *v
			case discordgo.SelectMenu:
				m = v
			default:
				continue
			}
			if m.CustomID != menuID {
				continue
			}
			for _, o := range m.Options {
				if o.Value == value {
					return o.Label
				}
			}
		}
	}
	return ""
}

// markdownSpecial are the characters Discord's markdown gives meaning to.
const markdownSpecial = "\\*_~`|>#-[]()<@:"

// escapeMarkdown makes user text render literally in Discord: markdown
// characters (and "@", "<" and ":" of mentions and emoji) are
// backslash-escaped. allowed_mentions, not escaping, is what stops pings.
func escapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lightEscaped are the characters lightToDiscord escapes: every Discord
// markdown or mention character that is not part of light markdown.
const lightEscaped = "\\`_~|[]<>#@"

// lightToDiscord converts a reply's light markdown (**bold**, "- " lists,
// line breaks) to Discord content. Reply text mixes guide text with what
// the person typed ("Got it: <answer>"), so everything light markdown does
// not use is escaped: mentions (<@…>, <@&…>, @everyone, @here), channel
// and emoji tags, masked links ([x](url)), code spans and fences,
// headings, quotes, spoilers, strikethrough and underline render as the
// literal text. Bare URLs stay clickable (the link shows where it goes).
// Invisible and direction-changing characters are removed (cleanText).
func lightToDiscord(s string) string {
	s = unmaskLinks(cleanText(s))
	if !strings.ContainsAny(s, lightEscaped) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if strings.ContainsRune(lightEscaped, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unmaskLinks turns markdown links [text](https://…) — how guides write
// links — into "text (https://…)": the address shows as a bare, clickable
// URL, so a link can never hide where it goes, whoever wrote it.
func unmaskLinks(s string) string {
	if !strings.Contains(s, "](http") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '[' {
			if text, url, n, ok := bot.MarkdownLink(s[i:]); ok {
				b.WriteString(text + " (" + url + ")")
				i += n - 1
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cleanText removes what must never reach a message from text that may
// be the person's: control characters other than newline and tab, and
// invisible characters that reorder or hide text (bidi overrides and
// isolates such as U+202E, zero-width spaces, the BOM), which could make a
// message read as something other than what it says. Invalid UTF-8
// becomes U+FFFD. Zero-width joiners stay: emoji sequences need them.
func cleanText(s string) string {
	clean := true
	for _, r := range s {
		if dropRune(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !dropRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func dropRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x200b, r == 0x200e, r == 0x200f, r == 0x2060, r == 0xfeff, r == 0x061c:
		return true
	}
	return false
}

// discordLen is a message's length as Discord counts it (UTF-16 code
// units, as JavaScript does; the conservative reading of "characters").
func discordLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// splitContent cuts s into pieces of at most limit (as discordLen counts),
// preferring paragraph, line, then word boundaries, never splitting a rune.
// Empty s gives no pieces.
func splitContent(s string, limit int) []string {
	var out []string
	for s != "" {
		if discordLen(s) <= limit {
			out = append(out, s)
			break
		}
		// Find the byte offset of the longest prefix within limit.
		n, cut := 0, 0
		for i, r := range s {
			if n+utf16.RuneLen(r) > limit {
				cut = i
				break
			}
			n += utf16.RuneLen(r)
		}
		at := cut
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(s[:cut], sep); i > cut/2 {
				at = i
				break
			}
		}
		if at == 0 {
			_, size := utf8.DecodeRuneInString(s)
			at = size
		}
		piece := strings.TrimRight(s[:at], " \n")
		if piece != "" {
			out = append(out, piece)
		}
		s = strings.TrimLeft(s[at:], " \n")
	}
	return out
}

// trimText shortens s to at most limit (discordLen), ending in "…" when cut.
func trimText(s string, limit int) string {
	if discordLen(s) <= limit {
		return s
	}
	n := 0
	for i, r := range s {
		if n+utf16.RuneLen(r)+1 > limit {
			return s[:i] + "…"
		}
		n += utf16.RuneLen(r)
	}
	return s
}

// trimContent is trimText for message content.
func trimContent(s string, limit int) string { return trimText(s, limit) }

// asRow returns c as an action row, whichever way discordgo decoded it
// (value or pointer); ok is false for any other component.
func asRow(c discordgo.MessageComponent) (row discordgo.ActionsRow, ok bool) {
	switch r := c.(type) {
	case *discordgo.ActionsRow:
		return *r, true
	case discordgo.ActionsRow:
		return r, true
	}
	return row, false
}
