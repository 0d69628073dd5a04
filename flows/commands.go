package flows

import (
	"fmt"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// command carries out help, back, restart, skip, stop and status.
func (t *turn) command(cmd answer.Command, cs *compiledStep) (bot.Turn, error) {
	s, g := t.s, t.g
	switch cmd {
	case answer.Help:
		t.say(g.helpText(s.Address.Platform))
		return t.land()
	case answer.Status:
		t.say(g.status(s))
		return t.land()
	case answer.Back:
		step, ok := s.Back()
		// Checks ask nothing: going back passes over them (and forgets
		// their verdicts) to the question before.
		for ok && g.steps[step] != nil && g.steps[step].Kind == KindCheck {
			step, ok = s.Back()
		}
		if !ok || g.steps[step] == nil {
			t.say("We're at the first question, so there's nothing to go back to.")
			return t.land()
		}
		s.Step = step
		t.say("OK, let's go back.")
		return t.land()
	case answer.Restart:
		if len(s.History) > 0 {
			t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(s, bot.OutcomeRestarted, t.now))
		}
		id := g.Guide.ID
		s.Reset(t.now)
		t.say("OK, starting over.")
		t.restarting = true
		return t.start(bot.Message{Guide: id}, "")
	case answer.Stop:
		s.Done, s.Outcome = true, bot.OutcomeStopped
		t.out.Outcomes = append(t.out.Outcomes, t.r.Outcome(s, bot.OutcomeStopped, t.now))
		t.out.Replies = append(t.out.Replies, bot.Reply{
			Text: "OK, I've stopped. Send me a message whenever you want to start again.",
			Done: true,
		})
		return t.out, nil
	case answer.Skip:
		if cs.Kind == KindAsk && cs.Skip == "" {
			t.say("This question can't be skipped, because what comes next depends on it.")
			return t.land()
		}
		s.History = append(s.History, bot.Frame{Step: s.Step})
		t.say("OK, skipping that.")
		return t.advance(eventSkip)
	}
	return t.out, fmt.Errorf("unhandled command %q", cmd)
}

// helpText lists the commands, with how to answer on platform.
func (g *Compiled) helpText(platform string) string {
	return "I'm walking you through **" + g.Guide.Title + "**. " + answerHint(platform) + " You can also say:\n" +
		"- **back**: undo your last answer\n" +
		"- **skip**: skip this question\n" +
		"- **status**: what we've covered so far\n" +
		"- **restart**: start over\n" +
		"- **stop**: end the conversation"
}

// numberedPlatform is the platform that shows choices as numbered lines
// (the terminal chat); chat platforms show buttons without numbers.
const numberedPlatform = "console"

// answerHint says how to answer a question on platform: numbers only where
// choices are shown numbered, buttons where they are buttons.
func answerHint(platform string) string {
	if platform == numberedPlatform || platform == "" {
		return "Answer with the option's number, or in your own words."
	}
	return "Answer with a button, or type your answer in your own words."
}

// pickHint asks again for one of a question's options, worded for
// platform.
func pickHint(platform string) string {
	if platform == numberedPlatform || platform == "" {
		return "Pick one of the options: type its number or its words."
	}
	return "Pick one of the options: tap its button, or type the answer in your own words."
}
