package flows

import (
	"fmt"
	"strings"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
	"troubleshooter/flows/intent"
)

// startOver resets the conversation and starts guide (the default when
// "" or no longer loaded) afresh, as a new conversation.
func (t *turn) startOver(guide string) (bot.Turn, error) {
	t.s.Reset(t.now)
	if t.lib.guides[guide] == nil {
		guide = ""
	}
	return t.start(bot.Message{Guide: guide}, "")
}

// start begins a conversation: picks the guide (the one named, else the
// one the opening words point at), jumps to a step the words clearly point
// at, and asks the first question. When the words point at no guide, a
// greeting starts the only (or the configured default) guide and anything
// else gets the guide menu.
func (t *turn) start(m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	lib := t.lib
	jump := ""
	switch {
	case m.Guide != "" && lib.guides[m.Guide] == nil:
		if len(lib.order) > 1 && !lib.explicitDefault {
			return t.menu(false, fmt.Sprintf("I don't have a guide called %q.", clip(m.Guide, 64)))
		}
		t.say(fmt.Sprintf("I don't have a guide called %q. I have: %s. Let's use %s.",
			clip(m.Guide, 64), strings.Join(lib.ids(), ", "), lib.def.Guide.ID))
		t.g = lib.def
	case m.Guide != "":
		t.g = lib.guides[m.Guide]
		if r := lib.matcher.Match(m.Text); r.Guide == m.Guide {
			jump = r.Step
		}
	default:
		r := lib.matcher.Match(m.Text)
		switch {
		case r.Guide != "":
			t.g, jump = lib.guides[r.Guide], r.Step
		case r.Greeting && (len(lib.order) == 1 || lib.explicitDefault):
			t.g = lib.def
		default:
			return t.menu(!r.Greeting, "")
		}
	}
	g := t.g
	s.Guide, s.GuideVersion, s.Step, s.Offer = g.Guide.ID, g.Guide.Version, g.Guide.Start, ""
	if s.Started.IsZero() {
		s.Started = t.now
	}
	if !t.restarting {
		t.out.Outcomes = append(t.out.Outcomes, startedRecord(s))
	}
	if jump == "" || jump == g.Guide.Start {
		// The intro promises questions first; a jump skips them.
		t.say(g.render(g.Guide.Intro, g.intro, s))
	}
	if cmd, ok := answer.ParseCommand(norm); ok && cmd == answer.Help {
		t.say(g.helpText(s.Address.Platform))
	}
	if jump != "" && jump != g.Guide.Start {
		s.History = append(s.History, bot.Frame{Step: g.Guide.Start})
		s.Step = jump
		if s.Answers == nil {
			s.Answers = map[string]string{}
		}
		s.Answers[jumpKey] = jump
		t.say(fmt.Sprintf("From what you describe, let's go straight to **%s**. (Say *back* to start from the first questions instead.)", g.steps[jump].title()))
	}
	return t.land()
}

// startedRecord is the record of s beginning (bot.OutcomeStarted), saved
// with the turn that begins it so that reports count starts as they
// happen. It is dated when the session began (its first message, which may
// have been answered with the guide menu), both Started and Ended, so that
// stores listing records by Ended and tallies bucketing starts by Started
// agree.
func startedRecord(s *bot.Session) bot.Outcome {
	return bot.Outcome{
		Key:          s.Key,
		Platform:     s.Address.Platform,
		Guide:        s.Guide,
		GuideVersion: s.GuideVersion,
		Kind:         bot.OutcomeStarted,
		Step:         s.Step,
		Started:      s.Started,
		Ended:        s.Started,
	}
}

// phrases lists what the matcher routes on for g: its symptoms (pointing
// at the guide) and its steps' keywords (pointing at the step, and so at
// the guide too).
func (g *Compiled) phrases() []intent.Entry {
	var out []intent.Entry
	for _, p := range g.Guide.Symptoms {
		out = append(out, intent.Entry{Target: intent.Target{Guide: g.Guide.ID}, Phrase: p})
	}
	for _, st := range g.Guide.Steps {
		for _, k := range st.Keywords {
			out = append(out, intent.Entry{Target: intent.Target{Guide: g.Guide.ID, Step: st.ID}, Phrase: k})
		}
	}
	return out
}
