package flows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// answered lists "label: answer" lines for what the person said, in the
// guide's step order, and "fix: result" lines for the fixes they tried.
// Steps that share an answer name (one fix offered in two places) are
// listed once.
func (g *Compiled) answered(s *bot.Session) (told, tried []string) {
	listed := make(map[string]bool, len(g.vars))
	for _, st := range g.Guide.Steps {
		cs := g.steps[st.ID]
		if cs.Kind != KindCheck {
			if listed[cs.save] {
				continue
			}
			if _, ok := s.Answers[cs.save]; ok {
				listed[cs.save] = true
			}
		}
		switch cs.Kind {
		case KindAsk, KindInput:
			raw, ok := s.Answers[cs.save]
			if !ok {
				continue
			}
			told = append(told, fmt.Sprintf("%s: %s", cs.title(), g.display(cs, raw)))
		case KindCheck:
			if v, ok := s.Answers[checkKey(cs.ID)]; ok && cs.Title != "" {
				verdict := map[string]string{eventTrue: "yes", eventFalse: "no", eventUnknown: "couldn't tell"}[v]
				told = append(told, fmt.Sprintf("%s: %s", cs.Title, verdict))
			}
		}
	}
	// Fixes in the order they were tried, each once.
	seen := map[string]bool{}
	for _, f := range s.History {
		cs := g.steps[f.Step]
		if cs == nil || cs.Kind != KindFix || f.Var == "" || seen[cs.save] {
			continue
		}
		seen[cs.save] = true
		switch s.Answers[cs.save] {
		case "yes":
			tried = append(tried, cs.title()+": worked")
		case "no":
			tried = append(tried, cs.title()+": didn't help")
		}
	}
	return told, tried
}

// display renders a stored answer for summaries: a choice's summary
// words (written for staff), else its label.
func (g *Compiled) display(cs *compiledStep, raw string) string {
	switch {
	case cs.Kind == KindAsk:
		for _, ch := range cs.Choices {
			if ch.ID == raw {
				return firstNonEmpty(ch.Summary, ch.Label)
			}
		}
	case cs.Input == InputSize:
		if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
			return answer.FormatSize(n)
		}
	}
	return raw
}

// summary is the hand-over text for the person: what they told the bot
// and what they tried.
func (g *Compiled) summary(s *bot.Session) string {
	return g.summarise(s, summaryWords{"What you told me", "nothing yet", "What you tried", "no fixes yet"})
}

// staffSummary is the handoff text for the support team: the same facts,
// addressed to them.
func (g *Compiled) staffSummary(s *bot.Session) string {
	return g.summarise(s, summaryWords{"Answers", "none", "Fixes tried", "none"})
}

// summaryWords are a summary's headings and what an empty section says.
type summaryWords struct{ told, noneTold, tried, noneTried string }

// summarise lists what was answered and tried under w's headings.
func (g *Compiled) summarise(s *bot.Session, w summaryWords) string {
	told, tried := g.answered(s)
	var b strings.Builder
	section := func(heading, none string, lines []string) {
		b.WriteString("**" + heading + "**\n")
		if len(lines) == 0 {
			b.WriteString("- " + none + "\n")
		}
		for _, line := range lines {
			b.WriteString("- " + line + "\n")
		}
	}
	section(w.told, w.noneTold, told)
	section(w.tried, w.noneTried, tried)
	return strings.TrimSpace(b.String())
}

// status says where the conversation is and what was answered.
func (g *Compiled) status(s *bot.Session) string {
	cs := g.steps[s.Step]
	return fmt.Sprintf("We're working through **%s**, at: **%s**.\n%s", g.Guide.Title, cs.title(), g.summary(s))
}

// expiredKey is where, among the answers, the time an expiry was recorded
// is kept, so that a resumed record (see resumed) can take it back in the
// same bucket. "-" is in no step id, so it cannot meet a check's "@" key.
const expiredKey = "@expired-at"

// Outcome implements bot.Flow. A conversation that reached an end step is
// recorded at the last step the person answered (the fix that worked, or
// the last one tried); any other at the question left unanswered. Path is
// every step the conversation reached, once each in the order first
// reached, from its history and its current step; checks are left out
// (nobody sees them).
//
// Recording an expiry also notes its time in the session (expiredKey), which
// the engine saves with the record: the only place it is known when the
// person comes back.
func (r *Runner) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	if kind == bot.OutcomeExpired {
		if s.Answers == nil {
			s.Answers = map[string]string{}
		}
		s.Answers[expiredKey] = at.UTC().Format(time.RFC3339Nano)
	}
	return r.outcome(s, kind, at)
}

// resumed is the record that takes back the expiry of s, which the person
// came back to: the expired record as it was made (same step, path and
// time), of kind bot.OutcomeResumed. ok is false when the expiry's time was
// not noted (it expired before this was kept): that expiry stays counted.
func (r *Runner) resumed(s *bot.Session) (bot.Outcome, bool) {
	at, err := time.Parse(time.RFC3339Nano, s.Answers[expiredKey])
	if err != nil {
		return bot.Outcome{}, false
	}
	delete(s.Answers, expiredKey)
	o := r.outcome(s, bot.OutcomeExpired, at)
	o.Kind = bot.OutcomeResumed
	return o, true
}

// outcome builds the record of s ending as kind at at (see Outcome).
func (r *Runner) outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	step := s.Step
	g := r.lib.Load().forSession(s)
	if g != nil && len(s.History) > 0 {
		if cs := g.steps[step]; cs != nil && cs.Kind == KindEnd {
			for i := len(s.History) - 1; i >= 0; i-- {
				if f := g.steps[s.History[i].Step]; f != nil && f.Kind != KindCheck {
					step = s.History[i].Step
					break
				}
			}
		}
	}
	o := bot.Outcome{
		Key:          s.Key,
		Platform:     s.Address.Platform,
		Guide:        s.Guide,
		GuideVersion: s.GuideVersion,
		Kind:         kind,
		Step:         step,
		Started:      s.Started,
		Ended:        at,
	}
	if g != nil {
		o.Tried = g.tried(s)
		o.Path = g.path(s)
	}
	return o
}

// path lists the steps s reached, in the order first reached, each once,
// without checks: its history's steps, then its current step.
func (g *Compiled) path(s *bot.Session) []string {
	out := make([]string, 0, len(s.History)+1)
	add := func(step string) {
		if cs := g.steps[step]; cs != nil && cs.Kind != KindCheck && !containsString(out, step) {
			out = append(out, step)
		}
	}
	for _, f := range s.History {
		add(f.Step)
	}
	add(s.Step)
	return out
}

// tried lists the fix steps answered, in order, each once.
func (g *Compiled) tried(s *bot.Session) []string {
	var out []string
	for _, f := range s.History {
		if cs := g.steps[f.Step]; cs != nil && cs.Kind == KindFix && f.Var != "" {
			if !containsString(out, f.Step) {
				out = append(out, f.Step)
			}
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
