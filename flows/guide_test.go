package flows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"troubleshooter/bot"
)

func FuzzParseGuide(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/guides/*.yaml")
	examples, _ := filepath.Glob("testdata/guides/*.yaml")
	seeds = append(append(seeds, examples...), "whatsapp-icloud.yaml", "discord-notifications.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("id: x\nsteps: [1, 2]\n"))
	f.Add([]byte("&a [*a, *a]"))
	// Broken guides, for the syntax explanations.
	f.Add([]byte("id: g\nsteps:\n  - id: a\n    text: \"Pick one\n    choices:\n      - id: x\n        label: \"X\"\n"))
	f.Add([]byte("id: g\ntitle: 'it's on'\nsymptoms: [a, b\n\tstart: x\n"))
	f.Add([]byte("id: g\nsteps:\n  -id: a\n    text: {{.x}} here: now\n  title: x\n    intro: y\n"))
	f.Add([]byte("id: g\nstrat: a\nsteps:\n  - choises: [x]\n    keywords: [{a: b}]\nvalues: {x: {versoin: 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("parse error does not name the file: %v", err)
			}
			// Every problem points inside the file (a line past the
			// end would send an author looking for nothing).
			lines := len(yamlLines(data))
			var ps Problems
			var p *Problem
			switch {
			case errors.As(err, &ps):
			case errors.As(err, &p):
				ps = Problems{p}
			}
			for _, p := range ps {
				if p.Line < 0 || p.Line > lines {
					t.Errorf("problem on line %d of a %d-line file: %v", p.Line, lines, p)
				}
			}
			return
		}
		c, err := Compile(g, nil)
		if err != nil {
			return
		}
		// A guide that compiles must run: start it and answer a few times.
		r, err := NewRunner([]*Compiled{c}, "")
		if err != nil {
			t.Fatal(err)
		}
		s := &bot.Session{Key: "k"}
		for _, text := range []string{"hi", "1", "yes", "3 GB", "17.1", "skip", "back", "no"} {
			if _, err := r.Respond(s, bot.Message{Text: text}); err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			if s.Done {
				break
			}
			if _, ok := c.steps[s.Step]; !ok {
				t.Fatalf("session on unknown step %q", s.Step)
			}
		}
	})
}

func TestParseRefusesAliases(t *testing.T) {
	// Nested aliases expand exponentially; a guide must not be able to
	// stall the loader that way.
	src := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nid: [*c,*c]\n"
	_, err := Parse("bomb.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml:2: YAML aliases") {
		t.Errorf("err = %v, want the alias refused at line 2", err)
	}
	if _, err := Parse("two.yaml", []byte("id: a\n---\nid: b\n")); err == nil || !strings.Contains(err.Error(), "one YAML document") {
		t.Errorf("two documents: err = %v", err)
	}
}
