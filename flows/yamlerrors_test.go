package flows

import (
	"strings"
	"testing"
)

// TestSyntaxErrorsNameTheCause: a broken guide's error points at the line
// that is wrong, not where the YAML parser gave up, and says in plain
// words what to do.
func TestSyntaxErrorsNameTheCause(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{
			// The incident: the parser blamed line 8 ("value is not
			// allowed in this context"), three lines below the cause.
			"unclosed quote read on until the next quote",
			"id: g\nsteps:\n  - id: a\n    kind: ask\n    text: \"Pick one\n    choices:\n      - id: x\n        label: \"X\"\n        next: b\n",
			`t.yaml:5: a "quoted" text starts on this line and is not closed on it, so the lines after it were read as part of the text (the YAML parser stopped at line 8: value is not allowed in this context); end the text with " on line 5, or write \" for a " inside it`,
		},
		{
			"unclosed quote in a choice",
			"id: g\nsteps:\n  - id: a\n    kind: ask\n    choices:\n      - id: x\n        label: \"Yes\n        next: \"done\"\n",
			`t.yaml:7: a "quoted" text starts on this line and is not closed on it`,
		},
		{
			"unclosed quote to the end of the file",
			"id: g\nsteps:\n  - id: a\n    text: \"Pick one\n    choices:\n      - id: x\n",
			`t.yaml:4: a "quoted" text starts on this line and is not closed on it, so the lines after it were read as part of the text (the YAML parser stopped at line 4: could not find end character of double-quoted text); end the text with " on line 4`,
		},
		{
			"unclosed single quote",
			"id: g\ntitle: 'unclosed\nstart: a\n",
			`t.yaml:2: a 'quoted' text starts on this line and is not closed on it, so the lines after it were read as part of the text (the YAML parser stopped at line 2: could not find end character of single-quoted text); end the text with ' on line 2, or write '' for a ' inside it`,
		},
		{
			"quote inside a double-quoted text",
			"id: g\ntitle: \"it's \"on\" now\"\nstart: a\n",
			`t.yaml:2: the "quoted" text ends at its second " and more follows on the line; write \" for a " inside a "…" text, or quote the whole text with '…' instead`,
		},
		{
			"apostrophe inside a single-quoted text",
			"id: g\ntitle: 'it's on'\nstart: a\n",
			`t.yaml:2: the 'quoted' text ends at its second ' and more follows on the line; write '' for a ' inside a '…' text (it''s), or quote the whole text with "…" instead`,
		},
		{
			"colon in an unquoted text",
			"id: g\nsteps:\n  - id: a\n    text: Open Settings: Chats\n",
			`t.yaml:4: the text after "text:" holds ": ", which YAML reads as the start of another key; put the whole text in quotes: text: "Open Settings: Chats"`,
		},
		{
			"line indented under a key that has a value",
			"id: g\ntitle: x\n  intro: y\nstart: a\n",
			`t.yaml:3: this line is indented further than line 2, whose key already has a value; line up the keys of one mapping in the same column (the YAML parser stopped at line 2: mapping value is not allowed in this context)`,
		},
		{
			"key indented less than its neighbours",
			"id: g\nsteps:\n  - id: a\n    kind: ask\n  text: b\n    next: c\n",
			`t.yaml:5: value is not allowed in this context; check the quotes and indentation of line 5 and the lines above it: a quoted text ends on its line with the quote it began with, the keys of one mapping line up in one column, and the "- " items of one list in another`,
		},
		{
			"tab indentation",
			"id: g\nsteps:\n  - id: a\n\tkind: ask\n",
			`t.yaml:4: this line is indented with a tab; YAML indents with spaces only`,
		},
		{
			// A tab inside a block text is fine; the quote is the cause.
			"tab in a block text above an unclosed quote",
			"id: g\nintro: |\n  \tindented code\nsteps:\n  - id: a\n    text: \"Pick one\n    kind: ask\n    title: \"T\"\n",
			`t.yaml:6: a "quoted" text starts on this line and is not closed on it`,
		},
		{
			"dash without a space",
			"id: g\nsteps:\n  -id: a\n    text: b\n",
			`t.yaml:3: "-" starts a list item only when a space follows it: write "- id: a"`,
		},
		{
			"template at the start of an unquoted text",
			"id: g\nsteps:\n  - id: a\n    text: {{.x}} here\n",
			`t.yaml:4: a text that starts with "{" must be in quotes, or YAML reads it as a {mapping}: text: "{{.x}} here"`,
		},
		{
			"unclosed bracket list",
			"id: g\nsymptoms: [a, b\nstart: x\n",
			`t.yaml:2: a [list] opened here is not closed with ] (the YAML parser stopped at line 3: ',' or ']' must be specified)`,
		},
		{
			"duplicate key",
			"id: g\ntitle: a\nid: h\n",
			`t.yaml:3: key "id" appears twice in the same mapping (first on line 1); keep one`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

// TestShapeErrorsSuggestTheKey: unknown keys name the closest known one
// for their place in the guide, and a value of the wrong shape says what
// shape it needs.
func TestShapeErrorsSuggestTheKey(t *testing.T) {
	step := "id: g\nsteps:\n  - id: a\n    kind: ask\n"
	cases := []struct {
		name, src, want string
	}{
		{"step key", step + "    choises:\n      - id: x\n", `t.yaml:5: unknown field "choises"; did you mean "choices"?`},
		{"transposed guide key", "id: g\nstrat: a\n", `t.yaml:2: unknown field "strat"; did you mean "start"?`},
		{"choice key", step + "    choices:\n      - id: x\n        lable: X\n", `t.yaml:7: unknown field "lable"; did you mean "label"?`},
		{"choice key is not a step key", step + "    choices:\n      - id: x\n        title: X\n", `t.yaml:7: unknown field "title" (a choice's keys are: id, label, next, aliases, means, summary)`},
		{"wording key", "id: g\nwording:\n  did_it_wrk: x\n", `t.yaml:3: unknown field "did_it_wrk"; did you mean "did_it_work"?`},
		{"value key", "id: g\nvalues:\n  x: {versoin: \"1\"}\n", `t.yaml:3: unknown field "versoin"; did you mean "version"?`},
		{"wrong case", "id: g\nTitle: x\n", `t.yaml:2: unknown field "Title"; did you mean "title"?`},
		{"nothing close", "id: g\nsteps:\n  - id: a\n    colour: red\n", `t.yaml:4: unknown field "colour" (a step's keys are: id, kind, title, text, help, example, input, save, choices, next, fixed, skip, if, then, else, unknown, say_then, say_else, outcome, keywords, tip, prefix)`},
		{"the old test file", "id: g\nsteps:\n  - id: a\n    nxt: b\n", `t.yaml:4: unknown field "nxt"; did you mean "next"?`},
		{"list where a text goes", "id: [a]\n", `t.yaml:1: id: needs a text, not a list`},
		{"number where a list goes", "id: g\nsteps: 3\n", `t.yaml:2: steps: needs a list (lines starting with "- "), not a number`},
		{"text where a mapping goes", "id: g\nwording: hello\n", `t.yaml:2: wording: needs a mapping (keys and values), not a text`},
		{"mapping where a keyword goes", "id: g\nsteps:\n  - id: a\n    keywords:\n      - storage: full\n", `t.yaml:5: keywords: each item needs a text, not a mapping; put it in quotes if it holds ": "`},
		{"step that is a text", "id: g\nsteps:\n  - a\n", `t.yaml:3: steps: each item needs a mapping (keys and values), not a text`},
		{"value of two kinds", "id: g\nvalues:\n  x: {version: \"1\", number: 2}\n", "t.yaml:3: a value mapping names exactly one of version:, number: or text:"},
		{"prefix on a text value", "id: g\nvalues:\n  x: {text: a, prefix: \"2\"}\n", "t.yaml:3: prefix: applies to versions only"},
		{"several lines without |", "id: g\nsteps:\n  - id: a\n    text:\n      First: open Settings.\n      Then: tap Wi-Fi.\n", `t.yaml:5: text: needs a text, not a mapping; to write a text over several lines, put | after the key (text: |) and indent its lines below it`},
		{"values not a mapping", "id: g\nvalues: [a]\n", `t.yaml:2: values: needs a mapping (keys and values), not a list`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestClosestKey(t *testing.T) {
	keys := []string{"id", "kind", "choices", "next", "then", "else", "say_then", "say_else", "keywords"}
	cases := []struct{ in, want string }{
		{"choises", "choices"},
		{"nxt", "next"},
		{"kinds", "kind"},
		{"KIND", "kind"},
		{"say-then", "say_then"},
		{"keyword", "keywords"},
		{"colour", ""},
		{"x", ""},
		{"", ""},
	}
	for _, c := range cases {
		if got := closestKey(c.in, keys); got != c.want {
			t.Errorf("closestKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestScanQuotes(t *testing.T) {
	cases := []struct {
		name, src string
		want      []quoted
	}{
		{"closed on its line", `a: "b"`, []quoted{{1, 1, '"', false}}},
		{"apostrophe in a plain text", `a: it's "fine"`, nil},
		{"comma in a plain text", `a: Open Settings, 'General'`, nil},
		{"comma in a flow list", `a: [x, 'y']`, []quoted{{1, 1, '\'', false}}},
		{"escaped quote", `a: "say \"hi\""`, []quoted{{1, 1, '"', false}}},
		{"doubled single quote", `a: 'it''s'`, []quoted{{1, 1, '\'', false}}},
		{"spans lines", "a: \"b\n  c\"\nd: e", []quoted{{1, 2, '"', false}}},
		{"never closed", "a: 'b\nc: d", []quoted{{1, 0, '\'', false}}},
		{"text after the close", `a: "b" c`, []quoted{{1, 1, '"', true}}},
		{"comment", `a: b # "c`, nil},
		{"block text", "a: |\n  \"not a quote\n  x\nb: 'y'", []quoted{{4, 4, '\'', false}}},
		{"list item", `- "x"`, []quoted{{1, 1, '"', false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := scanQuotes(strings.Split(c.src, "\n"))
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("got %+v, want %+v", got, c.want)
				}
			}
		})
	}
}
