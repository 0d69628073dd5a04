package flows

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"troubleshooter/flows/answer"
)

func (c *Compiled) parseTemplate(l *linter, st *Step, field, text string) *template.Template {
	if !strings.Contains(text, "{{") {
		return nil
	}
	t, err := template.New(st.ID + "." + field).Funcs(templateFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		l.add(st.Line, st.ID, "%s: %v", field, err)
		return nil
	}
	// A misspelt name would print nothing (or "<no value>") to people:
	// every {{.name}} must be an answer, a value or the summary.
	for _, name := range templateFields(t.Tree.Root) {
		_, isVar := c.vars[name]
		_, isValue := c.values[name]
		if !isVar && !isValue && name != "summary" {
			l.add(st.Line, st.ID, "%s: {{.%s}} is not an answer, a value or summary", field, name)
		}
	}
	return t
}

// templateFuncs are the functions a guide's texts may call besides
// text/template's own (and, or, not, eq, len, printf, …): older and newer
// compare versions as conditions do. A side that is not a version (an
// unanswered question renders as "") makes both false, so
// {{if older .ios_version .current_ios}} says nothing when it can't tell.
var templateFuncs = template.FuncMap{
	"older": func(a, b any) bool { return compareTexts(a, b) < 0 },
	"newer": func(a, b any) bool { return compareTexts(a, b) > 0 },
}

// compareTexts compares two values as versions: -1, 0 or +1, and 0 when
// either is not a version.
func compareTexts(a, b any) int {
	cmp, err := answer.CompareVersions(fmt.Sprint(a), fmt.Sprint(b))
	if err != nil {
		return 0
	}
	return cmp
}

// templateFields lists the first name of every .field in a template.
func templateFields(n parse.Node) []string {
	var out []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x == nil {
				return
			}
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			if x == nil {
				return
			}
			for _, c := range x.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.FieldNode:
			out = append(out, x.Ident[0])
		case *parse.ChainNode:
			walk(x.Node)
		case *parse.IfNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		}
	}
	walk(n)
	return out
}
