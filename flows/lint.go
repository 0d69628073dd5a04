package flows

import (
	"fmt"

	"troubleshooter/flows/intent"
)

// linter collects problems with their place.
type linter struct {
	file     string
	problems Problems
}

func (l *linter) add(line int, step, format string, args ...any) {
	l.problems = append(l.problems, &Problem{File: l.file, Line: line, Step: step, Msg: fmt.Sprintf(format, args...)})
}

func (l *linter) guideFields(g *Guide) {
	if g.ID == "" {
		l.add(1, "", "guide has no id")
	} else if !guideIDPattern.MatchString(g.ID) {
		l.add(1, "", "guide id %q must be lower-case letters, digits, '-' or '_'", g.ID)
	}
	if g.Version == "" {
		l.add(1, "", "guide has no version (change it whenever steps change)")
	}
	if len(g.Steps) == 0 {
		l.add(1, "", "guide has no steps")
	}
	if len(g.Steps) > maxSteps {
		l.add(1, "", "guide has %d steps; at most %d are allowed", len(g.Steps), maxSteps)
	}
	if g.Start == "" {
		l.add(1, "", "guide has no start step")
	}
	for _, p := range g.Symptoms {
		if err := intent.CheckPhrase(p); err != nil {
			l.add(1, "", "symptom %v", err)
		}
	}
	for name := range g.Values {
		if !isIdent(name) {
			l.add(1, "", "value name %q must be a letter followed by letters, digits or '_'", name)
		}
	}
}

func (c *Compiled) target(l *linter, st *Step, field, id string, required bool) {
	if id == "" {
		if required {
			l.add(st.Line, st.ID, "%s step needs %s:", st.Kind, field)
		}
		return
	}
	if _, ok := c.steps[id]; !ok {
		l.add(st.Line, st.ID, "%s: unknown target step %q", field, id)
	}
}

// isIdent reports whether s can name a variable in a condition.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}
