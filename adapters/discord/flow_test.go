package discord

import (
	"context"
	"strings"
	"time"

	"troubleshooter/bot"
)

// testFlow is a small guide shaped like the WhatsApp–iCloud one, so the
// adapter is tested against the real bot.Engine without depending on the
// flows package (adapters never import it):
//
//	icloud (ask on/off) ─on→ size (input size) → ios (input version) → fix_update (fix)
//	       └─off→ fix_switch (fix)
//	fixes: fixed → resolved; not fixed → escalated
//
// Opening words mentioning "storage" jump to size. Like flows.Runner, a
// click carrying a Step that is not current is answered with "already
// answered" and the current question.
type testFlow struct{}

var _ bot.Flow = testFlow{}

func (testFlow) question(s *bot.Session) bot.Reply {
	switch s.Step {
	case "icloud":
		return bot.Reply{Text: "Is **WhatsApp** allowed to use iCloud?", Choices: []bot.Choice{{ID: "on", Label: "It's on"}, {ID: "off", Label: "It's off"}}}
	case "size":
		return bot.Reply{Text: "How big is your WhatsApp backup?", Input: "size", Choices: []bot.Choice{{ID: "help", Label: "Where do I find it?"}}}
	case "ios":
		return bot.Reply{Text: "Which iOS version is your iPhone on?", Input: "version"}
	case "fix_update":
		return bot.Reply{Text: "Update iOS:\n- open Settings\n- tap General\n\nDid that fix it?", Choices: []bot.Choice{{ID: "fixed", Label: "Yes, it works now"}, {ID: "not_fixed", Label: "No, still failing"}}}
	case "fix_switch":
		return bot.Reply{Text: "Turn the WhatsApp switch on.\n\nDid that fix it?", Choices: []bot.Choice{{ID: "fixed", Label: "Yes, it works now"}, {ID: "not_fixed", Label: "No, still failing"}}}
	}
	return bot.Reply{Text: "?"}
}

func (f testFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	if s.Guide == "" {
		s.Guide, s.GuideVersion, s.Step = "wa", "1", "icloud"
		intro := bot.Reply{Text: "Let's get your WhatsApp backup working."}
		if strings.Contains(strings.ToLower(m.Text), "storage") {
			s.Step = "size"
		}
		return bot.Turn{Replies: []bot.Reply{intro, f.question(s)}}, nil
	}
	if m.Choice != "" && m.Step != "" && m.Step != s.Step {
		return bot.Turn{Replies: []bot.Reply{{Text: "That question was already answered. Here's where we are now:"}, f.question(s)}}, nil
	}
	ans := m.Choice
	if ans == "" {
		ans = strings.TrimSpace(m.Text)
	}
	var say []bot.Reply
	next := ""
	switch s.Step {
	case "icloud":
		switch ans {
		case "on":
			next = "size"
		case "off":
			next = "fix_switch"
		}
	case "size":
		if ans == "help" {
			return bot.Turn{Replies: []bot.Reply{{Text: "In WhatsApp: Settings → Chats → Chat Backup."}, f.question(s)}}, nil
		}
		if strings.HasSuffix(strings.ToUpper(ans), "GB") {
			s.SetAnswer("size", "size", ans)
			say = append(say, bot.Reply{Text: "Got it: " + ans + "."})
			next = "ios"
		}
	case "ios":
		if ans != "" && strings.Trim(ans, "0123456789.") == "" {
			s.SetAnswer("ios", "ios", ans)
			say = append(say, bot.Reply{Text: "Got it: " + ans + "."})
			next = "fix_update"
		}
	case "fix_update", "fix_switch":
		switch ans {
		case "fixed":
			return f.end(s, bot.OutcomeResolved, "Great, it works! 🎉"), nil
		case "not_fixed":
			return f.end(s, bot.OutcomeEscalated, "Please contact support and share this: size "+s.Answers["size"]+", iOS "+s.Answers["ios"]+"."), nil
		}
	}
	if next == "" {
		return bot.Turn{Replies: []bot.Reply{{Text: "Sorry, I didn't get that."}, f.question(s)}}, nil
	}
	s.Step = next
	return bot.Turn{Replies: append(say, f.question(s))}, nil
}

func (f testFlow) end(s *bot.Session, kind, text string) bot.Turn {
	s.Done, s.Outcome = true, kind
	return bot.Turn{Replies: []bot.Reply{{Text: text, Done: true}}, Outcomes: []bot.Outcome{f.Outcome(s, kind, time.Now())}}
}

func (f testFlow) Current(s *bot.Session) ([]bot.Reply, error) {
	return []bot.Reply{f.question(s)}, nil
}

func (testFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Platform: s.Address.Platform, Guide: s.Guide, GuideVersion: s.GuideVersion, Kind: kind, Step: s.Step, Started: s.Started, Ended: at}
}

// handleOnly hides the engine's Current, as a plain bot.Handler would.
type handleOnly struct{ h bot.Handler }

func (h handleOnly) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	return h.h.Handle(ctx, m)
}

// countingHandler counts Handle calls.
type countingHandler struct {
	h bot.Handler
	n chan bot.Message
}

func (c *countingHandler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	select {
	case c.n <- m:
	default:
	}
	return c.h.Handle(ctx, m)
}
