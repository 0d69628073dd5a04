package flows

import (
	"fmt"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// offerResume is Session.Offer while a person who came back after an
// expiry is asked whether to resume or start over.
const offerResume = "resume"

// resumeOptions are the answers to that offer.
var resumeOptions = []answer.Option{
	{ID: ChoiceResume, Label: "Pick up where we stopped", Aliases: []string{"resume", "continue", "pick up"}},
	{ID: ChoiceStartOver, Label: "Start over", Aliases: []string{"start over", "start again"}},
}

// afterEnd answers a message to a conversation that ended but is not over
// for the person: handed to staff (quiet unless they restart), or expired
// (resume or start over), or finished (a short answer to thanks; anything
// else starts a new conversation).
func (t *turn) afterEnd(m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	// Only the typed command restarts: a click on an old offer's "Start
	// over" must not end a handoff staff are working on.
	cmd, isCmd := answer.ParseCommand(norm)
	restart := m.Choice == "" && isCmd && cmd == answer.Restart
	if s.HandedOff && !restart {
		// Staff have this conversation; anything the bot said now would
		// talk over them.
		return t.out, nil
	}
	if s.HandedOff {
		t.say("OK, starting over.")
		return t.startOver(s.Guide)
	}
	if s.Outcome != bot.OutcomeExpired {
		// Resolved, escalated without staff, or stopped: a thank-you or
		// a second stop gets a short answer; anything else is a new
		// problem, and its words are the new conversation's opening.
		if m.Choice == "" && isClosingCourtesy(norm) {
			t.out.Replies = append(t.out.Replies, bot.Reply{Text: closingAnswer(norm, s.Outcome), Done: true})
			return t.out, nil
		}
		// "It failed again" names no guide: it is about the one we just
		// finished, unless the words point at another.
		if m.Guide == "" && t.lib.guides[s.Guide] != nil && t.lib.matcher.Match(m.Text).Guide == "" {
			m.Guide = s.Guide
		}
		s.Reset(t.now)
		return t.start(m, norm)
	}
	// Expired: the outcome is recorded; the conversation is live again,
	// waiting on the offer (or on the question it stopped at). The person
	// came back, so the expiry is taken back (bot.OutcomeResumed): the
	// conversation is counted by how it ends from here, and starting over
	// from the offer is a restart of it, not a new one.
	if o, ok := t.r.resumed(s); ok {
		t.out.Outcomes = append(t.out.Outcomes, o)
	}
	s.Done, s.Outcome, s.Offer = false, "", offerResume
	return t.resumeOffer(m, norm, true)
}

// resumeOffer handles a message while the offer to resume is open. first
// is true for the message that opened it: the offer was not shown yet, so
// a number or a yes answers the question the conversation stopped at.
func (t *turn) resumeOffer(m bot.Message, norm string, first bool) (bot.Turn, error) {
	s := t.s
	g := t.lib.forSession(s)
	var cs *compiledStep
	if g != nil {
		cs = g.steps[s.Step]
	}
	if cs == nil || cs.Kind == KindCheck || cs.Kind == KindEnd {
		t.say("The guide was updated since we last talked and the question we stopped at no longer exists, so let's start again from the beginning.")
		return t.restartOver(s.Guide)
	}
	t.g = g
	s.GuideVersion = g.Guide.Version
	choice := ""
	switch {
	case m.Choice == ChoiceResume || m.Choice == ChoiceStartOver:
		choice = m.Choice
	case m.Choice != "":
	default:
		if cmd, ok := answer.ParseCommand(norm); ok {
			switch cmd {
			case answer.Restart:
				choice = ChoiceStartOver
			case answer.Stop, answer.Help, answer.Status:
				s.Offer = ""
				return t.command(cmd, cs)
			}
		} else if first && answers(cs, s.GuideVersion, m, norm) {
			// Before the offer is shown, a valid answer to the question
			// we stopped at ("1", "yes", "3 GB") means resuming.
			choice = "answer"
		} else if id, ok := answer.MatchChoice(norm, resumeOptions); ok && (!first || !isNumber(norm)) {
			// Before the offer is shown, a bare number ("2", meaning
			// 2 GB) is not an answer to it: show the offer.
			choice = id
		}
	}
	if choice == "" && m.Choice != "" && answers(cs, s.GuideVersion, m, norm) {
		choice = "answer" // a click on the question we stopped at
	}
	switch choice {
	case ChoiceStartOver:
		t.say("OK, starting over.")
		return t.restartOver(s.Guide)
	case ChoiceResume:
		s.Offer = ""
		t.say("Welcome back! Let's pick up where we stopped.")
		return t.land()
	case "answer":
		s.Offer = ""
		t.say("Welcome back!")
		return t.answer(cs, m, norm)
	}
	t.out.Replies = append(t.out.Replies, t.offer(cs))
	return t.out, nil
}

// restartOver starts guide again as the same conversation (a restart): the
// person came back to a conversation and chose to start over. It records
// where they restarted, when they had answered anything, as the restart
// command does.
func (t *turn) restartOver(guide string) (bot.Turn, error) {
	if len(t.s.History) > 0 {
		t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(t.s, bot.OutcomeRestarted, t.now))
	}
	t.restarting = true
	return t.startOver(guide)
}

// offer is the resume-or-start-over question.
func (t *turn) offer(cs *compiledStep) bot.Reply {
	return bot.Reply{
		Text: fmt.Sprintf("Welcome back! Last time we stopped at **%s** in **%s**. Shall we pick up there, or start over?", cs.title(), t.g.Guide.Title),
		Choices: []bot.Choice{
			{ID: ChoiceResume, Label: resumeOptions[0].Label},
			{ID: ChoiceStartOver, Label: resumeOptions[1].Label},
		},
	}
}

// isNumber reports whether norm is only digits.
func isNumber(norm string) bool {
	if norm == "" {
		return false
	}
	for i := 0; i < len(norm); i++ {
		if norm[i] < '0' || norm[i] > '9' {
			return false
		}
	}
	return true
}

// answers reports whether m is a valid answer to the question cs (of the
// session's guide version), without applying it.
func answers(cs *compiledStep, version string, m bot.Message, norm string) bool {
	if m.Choice != "" {
		if m.Step != "" && m.Step != cs.ID || m.GuideVersion != "" && m.GuideVersion != version {
			return false
		}
		switch cs.Kind {
		case KindAsk:
			return cs.hasChoice(m.Choice)
		case KindFix:
			return m.Choice == choiceFixed || m.Choice == choiceNotFixed
		case KindInput:
			return m.Choice == choiceHelp
		}
		return false
	}
	switch cs.Kind {
	case KindAsk:
		_, ok := answer.MatchChoice(norm, cs.options)
		return ok
	case KindInput:
		_, _, err := parseInput(cs.Input, m.Text)
		return err == nil
	case KindFix:
		_, ok := answer.YesNo(norm)
		return ok
	}
	return false
}
