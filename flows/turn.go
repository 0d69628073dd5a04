package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/looplab/fsm"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// maxMessage bounds how much of a message is read at all: no answer the
// guides ask for is longer, and parsing a 100 KB paste would only cost time.
const maxMessage = 4 << 10

// turn accumulates one message's replies and outcomes.
type turn struct {
	r   *Runner
	lib *library
	g   *Compiled
	s   *bot.Session
	now time.Time
	out bot.Turn
	// fixedBy is the fix the person just said worked, for its tip.
	fixedBy *compiledStep
	// restarting is set when start begins the same conversation again
	// (restart), so that it records no new start (see bot.OutcomeStarted).
	restarting bool
}

func (t *turn) say(text string) {
	if text != "" {
		t.out.Replies = append(t.out.Replies, bot.Reply{Text: text})
	}
}

// Respond implements bot.Flow.
func (r *Runner) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	now := m.Time
	if now.IsZero() {
		now = r.now()
	}
	t := &turn{r: r, lib: r.lib.Load(), s: s, now: now}
	m.Text = clip(m.Text, maxMessage)
	norm := answer.Normalize(m.Text)
	if s.Guide == "" {
		if s.Offer == offerMenu {
			return t.menuAnswer(m, norm)
		}
		return t.start(m, norm)
	}
	if s.Done {
		return t.afterEnd(m, norm)
	}
	if s.Offer == offerResume {
		return t.resumeOffer(m, norm, false)
	}
	t.g = t.lib.forSession(s)
	if t.g == nil {
		t.say("The guide we were following is no longer available, so let's start again.")
		s.Reset(now)
		return t.start(bot.Message{}, "")
	}
	cs := t.g.steps[s.Step]
	if cs == nil || cs.Kind == KindCheck || cs.Kind == KindEnd {
		// Never restore a step blindly: the guide changed under this
		// conversation and the step is gone (or is no longer a question).
		t.say("This guide was updated since we last talked and the question we were on no longer exists, so let's start again from the beginning.")
		t.out.Outcomes = append(t.out.Outcomes, r.Outcome(s, bot.OutcomeRestarted, now))
		s.Reset(now)
		t.restarting = true
		return t.start(bot.Message{Guide: t.g.Guide.ID}, "")
	}
	s.GuideVersion = t.g.Guide.Version
	if m.Choice == "" {
		if cmd, ok := answer.ParseCommand(norm); ok {
			return t.command(cmd, cs)
		}
	} else if (m.Step != "" && m.Step != s.Step) || (m.GuideVersion != "" && m.GuideVersion != s.GuideVersion) {
		t.say("That question was already answered. Here's where we are now:")
		return t.land()
	}
	return t.answer(cs, m, norm)
}

// answer applies a typed or clicked answer to the current step.
func (t *turn) answer(cs *compiledStep, m bot.Message, norm string) (bot.Turn, error) {
	s := t.s
	switch cs.Kind {
	case KindAsk:
		id, ok := m.Choice, false
		if id != "" {
			ok = cs.hasChoice(id)
		} else {
			id, ok = answer.MatchChoice(norm, cs.options)
		}
		if !ok {
			return t.reask(cs, norm, "Sorry, I didn't catch that. "+pickHint(t.s.Address.Platform))
		}
		s.SetAnswer(cs.ID, cs.save, id)
		if next := cs.next(id); next == cs.ID {
			// A choice that keeps the question open ("still not
			// green"): acknowledge it rather than repeat ourselves bare.
			t.say("OK, take your time.")
		}
		return t.advance(id)

	case KindInput:
		if m.Choice != "" && m.Choice != choiceHelp {
			return t.reask(cs, "", "That button isn't part of this question.")
		}
		if m.Choice == choiceHelp || answer.Unsure(norm) {
			return t.reask(cs, "?", "")
		}
		value, shown, err := parseInput(cs.Input, m.Text)
		if err != nil {
			return t.reask(cs, "", inputError(cs, err))
		}
		if cs.Input == InputVersion && cs.Prefix != "" {
			value = answer.WithPrefix(value, cs.Prefix)
			shown = value
		}
		s.SetAnswer(cs.ID, cs.save, value)
		t.say("Got it: " + shown + ".")
		return t.advance(eventAnswered)

	case KindFix:
		fixed, ok := false, false
		switch m.Choice {
		case choiceFixed:
			fixed, ok = true, true
		case choiceNotFixed:
			fixed, ok = false, true
		case "":
			fixed, ok = answer.YesNo(norm)
		}
		if !ok {
			return t.reask(cs, norm, t.g.wording.AskAgain)
		}
		if fixed {
			s.SetAnswer(cs.ID, cs.save, "yes")
			t.fixedBy = cs
			return t.advance(eventFixed)
		}
		s.SetAnswer(cs.ID, cs.save, "no")
		said := len(t.out.Replies)
		t.say("OK, that didn't do it.")
		if jumped := s.Answers[jumpKey]; jumped != "" {
			// The first message jumped past the cheap questions; now
			// that the fix it pointed at failed, ask them, so the later
			// fixes and the summary rest on the whole picture. Fixes
			// already tried are passed over (settle).
			delete(s.Answers, jumpKey)
			t.out.Replies[said].Text += " Let me ask a few questions, so we find what else it could be."
			s.Step = t.g.Guide.Start
			return t.settle()
		}
		out, err := t.advance(eventNotFixed)
		if err == nil && !s.Done {
			// Only when there is a next thing: never right before "we've
			// tried every fix I know".
			t.out.Replies[said].Text += " Let's try the next thing."
			out = t.out
		}
		return out, err
	}
	return t.out, fmt.Errorf("step %q of kind %q cannot take an answer", cs.ID, cs.Kind)
}

// reask explains what went wrong and asks the same question again. When
// the person is unsure and the step has help, the help is said instead.
func (t *turn) reask(cs *compiledStep, norm, why string) (bot.Turn, error) {
	if cs.Help != "" && (norm == "?" || answer.Unsure(norm)) {
		t.say(t.g.render(cs.Help, cs.help, t.s))
		t.out.Replies = append(t.out.Replies, t.g.question(cs, t.s))
		return t.out, nil
	}
	if why == "" {
		why = "Here's the question again."
	}
	t.say(why)
	t.out.Replies = append(t.out.Replies, t.g.question(cs, t.s))
	return t.out, nil
}

// advance fires event on the state machine from the current step, runs any
// checks it lands on, and asks the next question (or ends).
func (t *turn) advance(event string) (bot.Turn, error) {
	g, s := t.g, t.s
	f := g.fsmPool.Get().(*fsm.FSM)
	defer g.fsmPool.Put(f)
	fire := func(ev string) error {
		f.SetState(s.Step)
		if err := f.Event(context.Background(), ev); err != nil {
			var same fsm.NoTransitionError
			if !errors.As(err, &same) {
				return fmt.Errorf("event %q at step %q: %w", ev, s.Step, err)
			}
		}
		s.Step = f.Current()
		return nil
	}
	if err := fire(event); err != nil {
		return t.out, err
	}
	return t.settleWith(fire)
}

// settle runs the checks and passes over the fixes already tried from the
// current step, then asks the next question (or ends).
func (t *turn) settle() (bot.Turn, error) {
	g, s := t.g, t.s
	f := g.fsmPool.Get().(*fsm.FSM)
	defer g.fsmPool.Put(f)
	return t.settleWith(func(ev string) error {
		f.SetState(s.Step)
		if err := f.Event(context.Background(), ev); err != nil {
			var same fsm.NoTransitionError
			if !errors.As(err, &same) {
				return fmt.Errorf("event %q at step %q: %w", ev, s.Step, err)
			}
		}
		s.Step = f.Current()
		return nil
	})
}

// settleWith is settle over an event function, so advance can share its
// state machine.
func (t *turn) settleWith(fire func(string) error) (bot.Turn, error) {
	g, s := t.g, t.s
	// Checks run without asking anything; the linter rules out loops of
	// checks, and the bound is a second guard (a tried fix is passed at
	// most once per step).
	for i := 0; i <= 2*len(g.steps); i++ {
		cs := g.steps[s.Step]
		if cs.Kind == KindFix && s.Answers[cs.save] == "no" {
			// Never offer a fix twice: steps that share a save: name
			// are one fix offered in two places of the guide.
			if err := fire(eventNotFixed); err != nil {
				return t.out, err
			}
			continue
		}
		if cs.Kind != KindCheck {
			return t.land()
		}
		ev := g.evaluate(cs, s)
		// Recorded with a history frame, so that "back" past the check
		// also forgets its verdict.
		s.SetAnswer(cs.ID, checkKey(cs.ID), ev)
		switch ev {
		case eventTrue:
			t.say(g.render(cs.SayThen, cs.sayThen, s))
		case eventFalse:
			t.say(g.render(cs.SayElse, cs.sayElse, s))
		}
		if err := fire(ev); err != nil {
			return t.out, err
		}
	}
	return t.out, fmt.Errorf("checks did not settle after %d steps", len(g.steps))
}

// jumpKey marks, among the answers, a conversation whose first message
// jumped past the start; "@" keeps it from conditions.
const jumpKey = "@jump"

// checkKey is where a check's verdict is kept among the answers, for
// summaries; "@" keeps it apart from variables conditions can read.
func checkKey(step string) string { return "@" + step }

// land says the current step: its question, or its end.
func (t *turn) land() (bot.Turn, error) {
	g, s := t.g, t.s
	cs := g.steps[s.Step]
	if cs.Kind == KindEnd {
		s.Done, s.Outcome = true, cs.Outcome
		t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(s, cs.Outcome, t.now))
		text := g.render(cs.Text, cs.text, s)
		if fb := t.fixedBy; fb != nil && cs.Outcome == bot.OutcomeResolved && fb.Tip != "" {
			text += "\n\n" + g.render(fb.Tip, fb.tip, s)
		}
		t.out.Replies = append(t.out.Replies, bot.Reply{Text: text, Done: true})
		if cs.Outcome == bot.OutcomeEscalated {
			t.out.Handoff = &bot.Handoff{
				Key:        s.Key,
				Address:    s.Address,
				Guide:      g.Guide.ID,
				GuideTitle: g.Guide.Title,
				Summary:    g.staffSummary(s),
				Started:    s.Started,
				At:         t.now,
			}
		}
		return t.out, nil
	}
	t.out.Replies = append(t.out.Replies, g.question(cs, s))
	return t.out, nil
}

func (cs *compiledStep) hasChoice(id string) bool {
	for _, o := range cs.options {
		if o.ID == id {
			return true
		}
	}
	return false
}

func (cs *compiledStep) title() string {
	if cs.Title != "" {
		return cs.Title
	}
	return cs.ID
}

// question renders the reply that asks cs: its text with the choices or the
// kind of typed answer it expects.
func (g *Compiled) question(cs *compiledStep, s *bot.Session) bot.Reply {
	rep := bot.Reply{Text: g.render(cs.Text, cs.text, s), Title: cs.Title}
	switch cs.Kind {
	case KindAsk:
		rep.Choices = make([]bot.Choice, len(cs.Choices))
		for i, ch := range cs.Choices {
			rep.Choices[i] = bot.Choice{ID: ch.ID, Label: ch.Label}
		}
	case KindInput:
		rep.Input, rep.Example = cs.Input, cs.Example
		if cs.Help != "" {
			rep.Choices = []bot.Choice{{ID: choiceHelp, Label: "Where do I find it?"}}
		}
	case KindFix:
		rep.Text += "\n\n" + g.wording.DidItWork
		rep.Choices = []bot.Choice{{ID: choiceFixed, Label: g.wording.Fixed}, {ID: choiceNotFixed, Label: g.wording.NotFixed}}
	}
	return rep
}

// next is where choice id of an ask step leads, or "".
func (cs *compiledStep) next(id string) string {
	for _, ch := range cs.Choices {
		if ch.ID == id {
			return ch.Next
		}
	}
	return ""
}
