package flows

import (
	"slices"
	"strings"
	"unicode"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// The guide menu: when a first message points at no guide ("hi" with
// several guides loaded, or "my printer is broken"), the bot says in one
// message what it can help with and offers the guides as choices. The
// session waits on it with no guide, on this pseudo-step.
const (
	offerMenu = "menu"
	// MenuStep is the step a conversation waiting on the guide menu is
	// on; its choices' ids are guide ids.
	MenuStep = "choose_guide"
)

// menu asks which guide fits. offTopic says the person described
// something no guide covers, rather than only greeting.
func (t *turn) menu(offTopic bool, why string) (bot.Turn, error) {
	s := t.s
	s.Guide, s.GuideVersion, s.Step, s.Offer = "", "", MenuStep, offerMenu
	t.out.Replies = append(t.out.Replies, menuReply(t.lib, offTopic, why))
	return t.out, nil
}

// menuReply is the guide menu as one reply: a short line, and the guides
// as choices.
func menuReply(lib *library, offTopic bool, why string) bot.Reply {
	var b strings.Builder
	switch {
	case why != "":
		b.WriteString(why + " ")
	case offTopic:
		b.WriteString("Sorry, that isn't something I know how to fix yet. ")
	default:
		b.WriteString("Hi! ")
	}
	// The guides are the choices (buttons, or numbered lines), so the
	// text only introduces them: one short message.
	b.WriteString("I can help with these. Pick one, or tell me what's wrong in your own words.")
	rep := bot.Reply{Text: b.String(), Choices: make([]bot.Choice, len(lib.order))}
	for i, g := range lib.order {
		rep.Choices[i] = bot.Choice{ID: g.Guide.ID, Label: g.Guide.Title}
	}
	return rep
}

// menuAnswer handles a message while the guide menu is open: a click or a
// typed pick starts that guide; words that point at a guide start it as a
// first message would; anything else shows the menu again.
func (t *turn) menuAnswer(m bot.Message, norm string) (bot.Turn, error) {
	s, lib := t.s, t.lib
	if m.Choice != "" {
		if g := lib.guides[m.Choice]; g != nil && (m.Step == "" || m.Step == MenuStep) {
			s.Offer = ""
			return t.start(bot.Message{Guide: g.Guide.ID}, "")
		}
		return t.menu(false, "That choice is no longer on offer.")
	}
	if cmd, ok := answer.ParseCommand(norm); ok {
		switch cmd {
		case answer.Stop:
			s.Reset(t.now)
			t.out.Replies = append(t.out.Replies, bot.Reply{Text: "OK. Send me a message whenever you want help.", Done: true})
			return t.out, nil
		case answer.Help, answer.Status, answer.Restart, answer.Back, answer.Skip:
			return t.menu(false, "Let's find the right guide first.")
		}
	}
	opts := make([]answer.Option, len(lib.order))
	for i, g := range lib.order {
		opts[i] = answer.Option{ID: g.Guide.ID, Label: g.Guide.Title}
	}
	if id, ok := answer.MatchChoice(norm, opts); ok {
		s.Offer = ""
		return t.start(bot.Message{Guide: id}, "")
	}
	if id := guideNamed(lib, norm); id != "" {
		s.Offer = ""
		return t.start(bot.Message{Guide: id}, "")
	}
	if r := lib.matcher.Match(m.Text); r.Guide != "" {
		s.Offer = ""
		return t.start(m, norm)
	}
	return t.menu(false, "Sorry, I didn't catch that.")
}

// menuFiller are words around a guide's name in a pick ("the whatsapp
// one, please").
var menuFiller = map[string]bool{
	"the": true, "a": true, "an": true, "one": true, "please": true, "pls": true, "i": true, "want": true,
	"need": true, "pick": true, "choose": true, "take": true, "about": true, "with": true, "guide": true,
	"that": true, "this": true, "for": true, "help": true, "it": true, "is": true, "its": true, "my": true,
}

// guideNamed is the one guide whose title or id holds every word of norm
// besides filler ("whatsapp", "the discord one"), or "".
func guideNamed(lib *library, norm string) string {
	words := strings.FieldsFunc(norm, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	found := ""
	for _, g := range lib.order {
		name := strings.FieldsFunc(strings.ToLower(g.Guide.Title+" "+g.Guide.ID), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		named, any := true, false
		for _, w := range words {
			if menuFiller[w] {
				continue
			}
			any = true
			if !slices.Contains(name, w) {
				named = false
				break
			}
		}
		if named && any {
			if found != "" {
				return "" // both guides' names hold the words: not a pick
			}
			found = g.Guide.ID
		}
	}
	return found
}
