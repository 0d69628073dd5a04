package flows

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/expr-lang/expr"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// sizeValue is a size answer as texts see it: printed the way Apple shows
// sizes, with Twice for the 2× rule ("{{.backup_size.Twice}}").
type sizeValue uint64

// String renders the size in decimal units ("3.2 GB").
func (v sizeValue) String() string { return answer.FormatSize(uint64(v)) }

// Twice is the free space a backup of this size needs.
func (v sizeValue) Twice() sizeValue { return v * 2 }

// render executes a step text's template over the session's answers and the
// guide's values. A text without template actions is returned as is. A
// template that fails at run time falls back to its source with the actions
// removed, so the person still gets the instructions.
func (g *Compiled) render(text string, t *template.Template, s *bot.Session) string {
	if t == nil {
		return strings.TrimSpace(text)
	}
	var b strings.Builder
	if err := t.Execute(&b, g.templateData(s, strings.Contains(text, ".summary"))); err != nil {
		return strings.TrimSpace(stripActions(text))
	}
	return strings.TrimSpace(b.String())
}

func stripActions(text string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		j := strings.Index(text[i:], "}}")
		if j < 0 {
			return b.String()
		}
		text = text[i+j+2:]
	}
}

func (g *Compiled) templateData(s *bot.Session, withSummary bool) map[string]any {
	data := make(map[string]any, len(g.values)+len(s.Answers)+1)
	for k, v := range g.values {
		data[k] = v
	}
	for name, kind := range g.vars {
		raw, ok := s.Answers[name]
		if !ok {
			// Not answered (yet): renders as nothing, and is false in
			// {{if}}, rather than "<no value>".
			data[name] = ""
			continue
		}
		if kind == InputSize {
			if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
				data[name] = sizeValue(n)
				continue
			}
		}
		data[name] = raw
	}
	if withSummary {
		data["summary"] = g.summary(s)
	}
	return data
}

// answered lists "label: answer" lines for what the person said, in the
// guide's step order, and "fix: result" lines for the fixes they tried.
func (g *Compiled) answered(s *bot.Session) (told, tried []string) {
	for _, st := range g.Guide.Steps {
		cs := g.steps[st.ID]
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
		case KindFix:
			switch s.Answers[cs.save] {
			case "yes":
				tried = append(tried, cs.title()+": worked")
			case "no":
				tried = append(tried, cs.title()+": didn't help")
			}
		}
	}
	return told, tried
}

// display renders a stored answer for people.
func (g *Compiled) display(cs *compiledStep, raw string) string {
	switch {
	case cs.Kind == KindAsk:
		for _, ch := range cs.Choices {
			if ch.ID == raw {
				return ch.Label
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

// helpText lists the commands.
func (g *Compiled) helpText() string {
	return "I'm walking you through **" + g.Guide.Title + "**. Answer with a button, the option's number, or in your own words. You can also say:\n" +
		"- **back**: undo your last answer\n" +
		"- **skip**: skip this question\n" +
		"- **status**: what we've covered so far\n" +
		"- **restart**: start over\n" +
		"- **stop**: end the conversation"
}

// runProgram runs a compiled condition; the linter made sure it is boolean.
func runProgram(cs *compiledStep, env map[string]any) (bool, error) {
	out, err := expr.Run(cs.cond, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %T", out)
	}
	return b, nil
}
