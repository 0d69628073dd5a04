package flows

import (
	"strings"
	"text/template"
	"text/template/parse"
)

func (c *Compiled) parseTemplate(l *linter, st *Step, field, text string) *template.Template {
	if !strings.Contains(text, "{{") {
		return nil
	}
	t, err := template.New(st.ID + "." + field).Option("missingkey=zero").Parse(text)
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
