package flows

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	"troubleshooter/flows/answer"
)

func (c *Compiled) parseTemplate(l *linter, st *Step, field, text string) *template.Template {
	if !strings.Contains(text, "{{") {
		return nil
	}
	t, err := newTextTemplate(st.ID+"."+field, text)
	if err != nil {
		l.add(st.Line, st.ID, "%s: %v", field, err)
		return nil
	}
	// Loops and template calls are how a short text becomes a huge or
	// endless one ({{range 300000000}}x{{end}} is 300 MB for whoever
	// reaches the step); answers and values are single items, so a guide
	// has no use for them.
	if len(t.Templates()) > 1 || hasNode(t.Tree.Root, parse.NodeTemplate) {
		l.add(st.Line, st.ID, "%s: {{define}}, {{template}} and {{block}} are not allowed in guide texts; write the text out", field)
		return nil
	}
	if hasNode(t.Tree.Root, parse.NodeRange) {
		l.add(st.Line, st.ID, "%s: {{range}} is not allowed in guide texts: answers and values are single items, and a range over a number repeats the text that many times", field)
		return nil
	}
	if msg := printfProblem(t.Tree.Root); msg != "" {
		l.add(st.Line, st.ID, "%s: %s", field, msg)
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

// newTextTemplate parses a guide text with the guide functions. Every
// {{range}} body starts with an empty text node, so that each iteration
// passes through render's bounded writer even when it prints nothing: a
// loop the linter missed still stops at the render's time limit.
func newTextTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			guardRanges(tt.Tree.Root)
		}
	}
	return t, nil
}

// guardRanges puts an empty text node first in every range body under n.
func guardRanges(n parse.Node) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			guardRanges(c)
		}
	case *parse.IfNode:
		guardRanges(x.List)
		guardRanges(x.ElseList)
	case *parse.WithNode:
		guardRanges(x.List)
		guardRanges(x.ElseList)
	case *parse.RangeNode:
		guardRanges(x.List)
		guardRanges(x.ElseList)
		if x.List != nil {
			x.List.Nodes = append([]parse.Node{&parse.TextNode{NodeType: parse.NodeText, Pos: x.Pos}}, x.List.Nodes...)
		}
	}
}

// hasNode reports whether the tree under n holds a node of type typ.
func hasNode(n parse.Node, typ parse.NodeType) bool {
	found := false
	walkNodes(n, func(n parse.Node) {
		if n.Type() == typ {
			found = true
		}
	})
	return found
}

// printfProblem refuses printf formats with a width or precision that is
// large or comes from an argument (%*d): "%999999999d" is 1 GB in memory
// before any writer can stop it.
func printfProblem(root parse.Node) string {
	msg := ""
	walkNodes(root, func(n parse.Node) {
		cmd, ok := n.(*parse.CommandNode)
		if !ok || len(cmd.Args) == 0 {
			return
		}
		if id, ok := cmd.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "printf" {
			return
		}
		if len(cmd.Args) < 2 {
			msg = "printf's format must be written out as a string, not piped in"
			return
		}
		format, ok := cmd.Args[1].(*parse.StringNode)
		if !ok {
			msg = "printf's format must be written out as a string"
			return
		}
		if bad := wideVerb.FindString(format.Text); bad != "" {
			msg = fmt.Sprintf("printf format %q: widths and precisions are limited to 2 digits", bad)
		}
	})
	return msg
}

// wideVerb matches a printf verb with a width or precision of 3+ digits or
// taken from an argument.
var wideVerb = regexp.MustCompile(`%[-+# 0]*(\d{3,}|\*|\[)|%[-+# 0]*\d*\.(\d{3,}|\*|\[)`)

// walkNodes calls f on every node under n, n included.
func walkNodes(n parse.Node, f func(parse.Node)) {
	if n == nil {
		return
	}
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		f(x)
		for _, c := range x.Nodes {
			walkNodes(c, f)
		}
		return
	case *parse.PipeNode:
		if x == nil {
			return
		}
		f(x)
		for _, c := range x.Cmds {
			walkNodes(c, f)
		}
		return
	}
	f(n)
	switch x := n.(type) {
	case *parse.ActionNode:
		walkNodes(x.Pipe, f)
	case *parse.CommandNode:
		for _, a := range x.Args {
			walkNodes(a, f)
		}
	case *parse.ChainNode:
		walkNodes(x.Node, f)
	case *parse.IfNode:
		walkNodes(x.Pipe, f)
		walkNodes(x.List, f)
		walkNodes(x.ElseList, f)
	case *parse.RangeNode:
		walkNodes(x.Pipe, f)
		walkNodes(x.List, f)
		walkNodes(x.ElseList, f)
	case *parse.WithNode:
		walkNodes(x.Pipe, f)
		walkNodes(x.List, f)
		walkNodes(x.ElseList, f)
	case *parse.TemplateNode:
		walkNodes(x.Pipe, f)
	}
}

// templateFuncs are the functions a guide's texts may call besides
// text/template's own (and, or, not, eq, len, printf, …): older and newer
// compare versions as conditions do. A side that is not a version (an
// unanswered question renders as "") makes both false, so
// {{if older .ios_version .current_ios}} says nothing when it can't tell.
var templateFuncs = template.FuncMap{
	"printf": boundedPrintf,
	"older":  func(a, b any) bool { return compareTexts(a, b) < 0 },
	"newer":  func(a, b any) bool { return compareTexts(a, b) > 0 },
}

// boundedPrintf is text/template's printf refusing the formats the linter
// refuses, in case one is built at run time.
func boundedPrintf(format string, args ...any) (string, error) {
	if bad := wideVerb.FindString(format); bad != "" {
		return "", fmt.Errorf("printf format %q: widths and precisions are limited to 2 digits", bad)
	}
	return fmt.Sprintf(format, args...), nil
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
