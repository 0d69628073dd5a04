package flows

import (
	"fmt"
	"strings"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// startOver resets the conversation and starts guide (the default when
// "" or no longer loaded) afresh.
func (t *turn) startOver(guide string) (bot.Turn, error) {
	t.s.Reset(t.now)
	if t.lib.guides[guide] == nil {
		guide = ""
	}
	return t.start(bot.Message{Guide: guide}, "")
}

// start begins a conversation: picks the guide, jumps to a step that the
// opening words clearly match, and asks the first question.
func (t *turn) start(m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	lib := t.lib
	t.g = lib.def
	jump := ""
	switch {
	case m.Guide != "" && lib.guides[m.Guide] == nil:
		t.say(fmt.Sprintf("I don't have a guide called %q. I have: %s. Let's use %s.",
			clip(m.Guide, 64), strings.Join(lib.ids(), ", "), lib.def.Guide.ID))
	case m.Guide != "":
		t.g = lib.guides[m.Guide]
		_, jump = lib.match(norm, t.g)
	default:
		if g, step := lib.match(norm, nil); g != nil {
			t.g, jump = g, step
		}
	}
	g := t.g
	s.Guide, s.GuideVersion, s.Step = g.Guide.ID, g.Guide.Version, g.Guide.Start
	if s.Started.IsZero() {
		s.Started = t.now
	}
	t.say(g.render(g.Guide.Intro, g.intro, s))
	if cmd, ok := answer.ParseCommand(norm); ok && cmd == answer.Help {
		t.say(g.helpText())
	}
	if jump != "" && jump != g.Guide.Start {
		s.History = append(s.History, bot.Frame{Step: g.Guide.Start})
		s.Step = jump
		if s.Answers == nil {
			s.Answers = map[string]string{}
		}
		s.Answers[jumpKey] = jump
		t.say(fmt.Sprintf("From what you describe, let's go straight to **%s**. (Say *back* to start from the first question instead.)", g.steps[jump].title()))
	}
	return t.land()
}

// match finds the step a person's opening words clearly point at: the
// best-scoring keyword match, if no other step scores as high. only limits
// the search to one guide.
func (l *library) match(norm string, only *Compiled) (*Compiled, string) {
	if norm == "" {
		return nil, ""
	}
	var bestG *Compiled
	best, bestScore, tie := "", 0, false
	scores := map[string]int{}
	for _, g := range l.order {
		if only != nil && g != only {
			continue
		}
		clear(scores)
		for _, k := range g.keywords {
			if containsPhrase(norm, k.phrase) {
				scores[k.step] += k.weight
			}
		}
		for step, score := range scores {
			switch {
			case score > bestScore:
				bestG, best, bestScore, tie = g, step, score, false
			case score == bestScore && (g != bestG || step != best):
				tie = true
			}
		}
	}
	if tie || bestScore == 0 {
		return nil, ""
	}
	return bestG, best
}

// containsPhrase reports whether phrase occurs in text at word boundaries.
func containsPhrase(text, phrase string) bool {
	for i := 0; i <= len(text)-len(phrase); {
		j := strings.Index(text[i:], phrase)
		if j < 0 {
			return false
		}
		at := i + j
		end := at + len(phrase)
		if (at == 0 || !isWordByte(text[at-1])) && (end == len(text) || !isWordByte(text[end])) {
			return true
		}
		i = at + 1
	}
	return false
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 0x80
}
