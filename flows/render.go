package flows

import (
	"errors"
	"strconv"
	"strings"
	"text/template"
	"time"

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

// Bounds of one rendered text. Chat messages are far shorter (Discord
// takes 2,000 characters); the bounds only stop a text written to take the
// process down.
const (
	maxRenderBytes  = 16 << 10
	maxRenderWrites = 1 << 16
	maxRenderTime   = 250 * time.Millisecond
)

// errRenderBound stops a template run past one of the render bounds.
var errRenderBound = errors.New("the text grew past its size or time bound")

// boundedWriter collects a rendered text and fails once it passes max
// bytes, maxRenderWrites writes or its deadline. Every write counts,
// including the empty one newTextTemplate puts at the start of each
// {{range}} iteration, so a loop stops even when it prints nothing (a real
// text makes a few dozen writes).
type boundedWriter struct {
	b        strings.Builder
	max      int
	deadline time.Time
	writes   int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errRenderBound
	}
	// The clock is read every 256 writes: cheap, and a loop iteration
	// takes well under a microsecond.
	if w.writes++; w.writes > maxRenderWrites || (w.writes%256 == 0 && time.Now().After(w.deadline)) {
		return 0, errRenderBound
	}
	return w.b.Write(p)
}

// render executes a step text's template over the session's answers and the
// guide's values. A text without template actions is returned as is. A
// template that fails at run time, or passes a render bound (16 KiB, 65,536
// writes, 250 ms), falls back to its source with the actions removed, so the
// person still gets the instructions.
func (g *Compiled) render(text string, t *template.Template, s *bot.Session) string {
	if t == nil {
		return strings.TrimSpace(text)
	}
	w := &boundedWriter{max: maxRenderBytes, deadline: time.Now().Add(maxRenderTime)}
	if err := t.Execute(w, g.templateData(s, strings.Contains(text, ".summary"))); err != nil {
		return strings.TrimSpace(stripActions(text))
	}
	return strings.TrimSpace(w.b.String())
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
