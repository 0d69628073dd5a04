package flows

import (
	"strings"
	"testing"
)

func TestLintProblems(t *testing.T) {
	head := "id: g\nversion: \"1\"\ntitle: T\nstart: a\nsteps:\n"
	end := "  - id: done\n    kind: end\n    outcome: resolved\n    text: ok\n"
	cases := []struct {
		name, steps, want string
	}{
		{"no kind", "  - id: a\n    text: hi\n", `step "a": step has no kind`},
		{"bad kind", "  - id: a\n    kind: maybe\n    text: hi\n", `unknown kind "maybe"`},
		{"ask without choices", "  - id: a\n    kind: ask\n    text: hi\n", "ask step needs choices"},
		{"input without kind", "  - id: a\n    kind: input\n    text: hi\n    next: done\n", "input step needs input:"},
		{"condition not bool", "  - id: a\n    kind: check\n    if: \"1 + 1\"\n    then: done\n    else: done\n", "if: expected bool"},
		{"template error", "  - id: a\n    kind: fix\n    text: \"{{ .x \"\n    next: done\n", "text: template"},
		{"bad end outcome", "  - id: a\n    kind: fix\n    text: t\n    next: done\n  - id: done\n    kind: end\n    outcome: maybe\n    text: x\n", `outcome: resolved or escalated (got "maybe")`},
		{"check loop", "  - id: a\n    kind: fix\n    text: t\n    next: b\n  - id: b\n    kind: check\n    if: \"true\"\n    then: c\n    else: done\n  - id: c\n    kind: check\n    if: \"true\"\n    then: b\n    else: done\n", "checks form a loop"},
		{"reserved choice", "  - id: a\n    kind: ask\n    text: t\n    choices:\n      - id: skip\n        label: S\n        next: done\n", `choice id "skip" is reserved`},
		{"bad step id", "  - id: A-1\n    kind: fix\n    text: t\n    next: done\n", "step id must be"},
		{"missing start", "", `start step "a" does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Parse("t.yaml", []byte(head+c.steps+end))
			if err == nil {
				_, err = Compile(g, nil)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestGuideGuards(t *testing.T) {
	deep := "id: x\nsteps: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	if _, err := Parse("deep.yaml", []byte(deep)); err == nil || !strings.Contains(err.Error(), "deep.yaml:2: brackets nested 100000 deep") {
		t.Errorf("deep nesting: %v", err)
	}
	head := "id: g\nversion: \"1\"\ntitle: T\nintro: \"hi {{.typo}}\"\nstart: c\nsteps:\n"
	steps := "  - id: c\n    kind: check\n    if: \"true\"\n    then: done\n    else: done\n  - id: done\n    kind: end\n    outcome: resolved\n    text: \"{{.summary}} {{.nope.Twice}}\"\n"
	g, err := Parse("t.yaml", []byte(head+steps))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(g, nil)
	for _, want := range []string{
		`step "c": the start step must ask something (ask, input or fix), not be a check`,
		`step "intro": intro: {{.typo}} is not an answer, a value or summary`,
		`step "done": text: {{.nope}} is not an answer`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "{{.summary}}") {
		t.Errorf("summary was rejected: %v", err)
	}
}
