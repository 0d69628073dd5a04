package flows

import (
	"strconv"
	"strings"
	"text/template"

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
