// Package flows turns guides — YAML files of troubleshooting steps — into
// running conversations: it loads and lints guide files, compiles each into
// a looplab/fsm state machine with expr-lang conditions, and runs the
// conversation for the bot engine (Runner implements bot.Flow).
package flows

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Step kinds.
const (
	KindAsk   = "ask"   // a question with choices; each choice names its next step
	KindInput = "input" // a typed answer (size, version, number, text) stored under a name
	KindCheck = "check" // a condition over answers and values choosing the next step
	KindFix   = "fix"   // instructions, then "did that fix it?"
	KindEnd   = "end"   // the conversation ends: resolved or escalated
)

// Input kinds of input steps.
const (
	InputSize    = "size"
	InputVersion = "version"
	InputNumber  = "number"
	InputText    = "text"
)

// Guide is one guide file as written. Load and Parse fill it; Compile checks
// and compiles it.
type Guide struct {
	// ID names the guide in config, sessions and commands.
	ID string `yaml:"id"`
	// Version changes whenever steps change, so that sessions saved on an
	// older version are checked before they are restored.
	Version string `yaml:"version"`
	// Title is shown to people ("WhatsApp backups to iCloud").
	Title string `yaml:"title"`
	// Intro is said once when a conversation starts.
	Intro string `yaml:"intro"`
	// Start is the id of the first step.
	Start string `yaml:"start"`
	// Values are named settings that checks and texts can use, such as the
	// current iOS version: a number, a text or a version (see Value).
	// config.yaml overrides them.
	Values map[string]Value `yaml:"values"`
	// Symptoms are phrases in a person's first message that say this guide
	// is the one to use ("whatsapp backup fails"); steps' keywords count
	// too. See README.md, "What a first message matches", for how a guide and a step are picked.
	Symptoms []string `yaml:"symptoms"`
	// Wording is what the bot says around fix steps; each field has a
	// neutral default.
	Wording Wording `yaml:"wording"`
	// Steps in any order; the file order is the order of the diagram.
	Steps []*Step `yaml:"steps"`

	// File is where the guide was read from, for error messages.
	File string `yaml:"-"`
	// keyLines maps each top-level key to its line, so that problems with
	// the guide as a whole point at the key rather than line 1.
	keyLines map[string]int
}

// KeyLine returns the line of the top-level key (such as "id") in the
// guide's file, or 1 when the key is absent or the guide was not parsed
// from a file: the top of the file is where a missing key goes.
func (g *Guide) KeyLine(key string) int {
	if n := g.keyLines[key]; n > 0 {
		return n
	}
	return 1
}

// Step is one step of a guide. Which fields apply depends on Kind; Compile
// reports fields that are missing or wrong for the kind.
type Step struct {
	ID   string `yaml:"id"`
	Kind string `yaml:"kind"`
	// Title names the step in status messages and summaries.
	Title string `yaml:"title"`
	// Text is what the bot says (a text/template over answers and values).
	Text string `yaml:"text"`
	// Help explains where to find the answer; said when the person is not
	// sure.
	Help string `yaml:"help"`
	// Example shows the expected typed form in re-asks ("3.2 GB").
	Example string `yaml:"example"`
	// Input is the kind of typed answer of an input step.
	Input string `yaml:"input"`
	// Save names the answer variable (ask and input); defaults to ID.
	Save string `yaml:"save"`
	// Choices of an ask step.
	Choices []*Choice `yaml:"choices"`
	// Next: after an input step; after a fix step that did not help.
	Next string `yaml:"next"`
	// Fixed: after a fix step that helped; defaults to the guide's first
	// end step with outcome resolved.
	Fixed string `yaml:"fixed"`
	// Skip: where "skip" leads. Input and fix steps default to Next; an ask
	// step without Skip cannot be skipped.
	Skip string `yaml:"skip"`
	// If is the condition of a check step (expr-lang syntax).
	If string `yaml:"if"`
	// Then, Else: where a check leads when If is true or false.
	Then string `yaml:"then"`
	Else string `yaml:"else"`
	// Unknown: where a check leads when a value it uses was not given
	// (skipped, "not sure"); defaults to Else.
	Unknown string `yaml:"unknown"`
	// SayThen, SayElse: optional text said when a check goes either way.
	SayThen string `yaml:"say_then"`
	SayElse string `yaml:"say_else"`
	// Outcome of an end step: resolved or escalated.
	Outcome string `yaml:"outcome"`
	// Keywords: phrases in a person's first message that jump straight here.
	Keywords []string `yaml:"keywords"`
	// Tip (fix steps) is said with the resolved ending when this fix is
	// the one that worked, so the closing advice fits the fix.
	Tip string `yaml:"tip"`
	// Prefix (version inputs) is a leading version part some places leave
	// out: with prefix "2", "25.33.75" is read as "2.25.33.75".
	Prefix string `yaml:"prefix"`

	// Line is the step's line in its file.
	Line int `yaml:"-"`
}

// Choice is one answer of an ask step.
type Choice struct {
	ID    string `yaml:"id"`
	Label string `yaml:"label"`
	Next  string `yaml:"next"`
	// Aliases are more phrases that pick this choice when typed.
	Aliases []string `yaml:"aliases"`
	// Means is "yes" or "no" when a typed yes/no picks this choice.
	Means string `yaml:"means"`
	// Summary is how the answer reads in summaries for staff ("on"
	// rather than the button's "It's on"); defaults to Label.
	Summary string `yaml:"summary"`

	Line int `yaml:"-"`
}

// UnmarshalYAML records the step's line so that lint errors can point at it.
func (s *Step) UnmarshalYAML(node ast.Node) error {
	type plain Step // without the method, to avoid recursion
	var p plain
	if err := yaml.NodeToValue(node, &p, yaml.Strict()); err != nil {
		return err
	}
	*s = Step(p)
	s.Line = node.GetToken().Position.Line
	return nil
}

// UnmarshalYAML records the choice's line so that lint errors can point at it.
func (c *Choice) UnmarshalYAML(node ast.Node) error {
	type plain Choice
	var p plain
	if err := yaml.NodeToValue(node, &p, yaml.Strict()); err != nil {
		return err
	}
	*c = Choice(p)
	c.Line = node.GetToken().Position.Line
	return nil
}

// MaxGuideSize bounds a guide file; guides are hand-written and small.
const MaxGuideSize = 1 << 20

// maxDepth bounds the nesting of a guide file, of every kind: [ ] and
// { }, and block lists and maps (by indentation and by "- " runs on one
// line). Real guides nest under ten levels; the YAML parser recurses per
// level and, past a few thousand, takes seconds and hundreds of MB.
const maxDepth = 32

// flowDepth returns the deepest nesting of [ and { in data and the line
// where it is reached. It counts brackets inside quotes and comments too:
// an upper bound is what a guard needs, and real guides stay far below it.
func flowDepth(data []byte) (line, max int) {
	depth, ln := 0, 1
	for _, c := range data {
		switch c {
		case '\n':
			ln++
		case '[', '{':
			depth++
			if depth > max {
				max, line = depth, ln
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return line, max
}

// blockDepth returns the deepest nesting of block lists and maps in data
// and the line where it is reached, in one pass without parsing: each
// line opens a level at its indentation (closing the levels indented as
// far or further) and one more per "- " (or "? ", ": ") before its
// content, anchors and tags before and between them skipped. The content of block
// texts (| and >) is skipped, as the parser reads it as text. It can
// overcount (a key and its list at the same indentation count once,
// which undercounts by at most half), which is fine for a guard.
func blockDepth(data []byte) (line, max int) {
	var stack []int // columns of the open levels
	scalarAt := -1  // while >= 0, lines indented further are block text
	for ln := 1; len(data) > 0; ln++ {
		var text []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			text, data = data, nil
		}
		indent := 0
		for indent < len(text) && text[indent] == ' ' {
			indent++
		}
		rest := text[indent:]
		if blank(rest) {
			continue
		}
		if scalarAt >= 0 {
			if indent > scalarAt {
				continue
			}
			scalarAt = -1
		}
		if rest[0] == '#' {
			continue
		}
		col := indent
		if bytes.HasPrefix(rest, []byte("--- ")) || bytes.HasPrefix(rest, []byte("---\t")) {
			col += 4
			rest = rest[4:]
		}
		for len(stack) > 0 && stack[len(stack)-1] >= col {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, col)
		for {
			n := indicator(rest)
			if n == 0 {
				break
			}
			col += n
			rest = rest[n:]
			stack = append(stack, col)
		}
		if len(stack) > max {
			max, line = len(stack), ln
		}
		if blockScalarHeader(rest) {
			scalarAt = stack[len(stack)-1]
		}
	}
	return line, max
}

// indicator returns the length of the anchors (&a) and tags (!t) at the
// start of b and of the block indicator ("-", "?" or ":" followed by a
// blank or the end of the line) after them, blanks included, or 0 when no
// indicator follows.
func indicator(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == '&' || b[n] == '!') {
		for n < len(b) && b[n] != ' ' && b[n] != '\t' {
			n++
		}
		for n < len(b) && (b[n] == ' ' || b[n] == '\t') {
			n++
		}
	}
	if n == len(b) || (b[n] != '-' && b[n] != '?' && b[n] != ':') || (n+1 < len(b) && b[n+1] != ' ' && b[n+1] != '\t') {
		return 0
	}
	n++
	for n < len(b) && (b[n] == ' ' || b[n] == '\t') {
		n++
	}
	return n
}

// blockScalarHeader reports whether a line's content ends in a block text
// header (| or > with optional indicators, then optionally a comment):
// "text: |", "- >-", "help: |2 # note".
func blockScalarHeader(rest []byte) bool {
	if i := bytes.LastIndex(rest, []byte(" #")); i >= 0 {
		rest = rest[:i]
	}
	for len(rest) > 0 && (rest[len(rest)-1] == ' ' || rest[len(rest)-1] == '\t' || rest[len(rest)-1] == '\r') {
		rest = rest[:len(rest)-1]
	}
	i := len(rest)
	for i > 0 && (rest[i-1] == '+' || rest[i-1] == '-' || (rest[i-1] >= '1' && rest[i-1] <= '9')) {
		i--
	}
	if i == 0 || (rest[i-1] != '|' && rest[i-1] != '>') {
		return false
	}
	// The header stands alone or follows "key:", "-" or a tag or anchor.
	return i == 1 || rest[i-2] == ' ' || rest[i-2] == '\t'
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// CheckNesting refuses YAML nested more than 32 levels deep, of any kind,
// with a *Problem naming the line, or returns nil. It reads data once and
// allocates little: deep nesting makes the YAML parser slow and hungry far
// beyond the file's size (20,000 "- " on one line: seconds and 600 MB),
// and no guide or config file needs more than a few levels, so callers
// check before parsing.
func CheckNesting(file string, data []byte) *Problem {
	if line, depth := flowDepth(data); depth > maxDepth {
		return &Problem{File: file, Line: line, Msg: fmt.Sprintf("brackets nested %d deep; at most %d levels are allowed", depth, maxDepth)}
	}
	if line, depth := blockDepth(data); depth > maxDepth {
		return &Problem{File: file, Line: line, Msg: fmt.Sprintf("lists and maps nested %d deep; at most %d levels are allowed", depth, maxDepth)}
	}
	return nil
}

// Parse decodes a guide file's bytes. file names it in errors. Unknown keys,
// duplicate keys and syntax errors are a *Problem with the line.
func Parse(file string, data []byte) (*Guide, error) {
	if len(data) > MaxGuideSize {
		return nil, &Problem{File: file, Msg: fmt.Sprintf("file is %d bytes; guides are limited to %d", len(data), MaxGuideSize)}
	}
	if p := CheckNesting(file, data); p != nil {
		return nil, p
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		p := yamlProblem(file, err)
		return nil, explainSyntax(file, data, p.Line, p.Msg)
	}
	// Aliases are refused before decoding: expanding nested aliases is
	// exponential ("billion laughs"), and a guide has no need for them.
	var alias aliasFinder
	for _, doc := range f.Docs {
		ast.Walk(&alias, doc)
	}
	if alias.at != nil {
		return nil, &Problem{File: file, Line: alias.at.GetToken().Position.Line, Msg: "YAML aliases (*name) are not supported in guides; write the value out"}
	}
	return decodeGuide(file, f)
}

// decodeGuide turns the parsed file into a Guide. The YAML library can
// panic on some malformed input (found by fuzzing); that is reported as a
// problem with the file, never a crash.
func decodeGuide(file string, f *ast.File) (g *Guide, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, &Problem{File: file, Msg: fmt.Sprintf("the YAML could not be decoded (%v); check the indentation and list syntax", r)}
		}
	}()
	g = &Guide{}
	if len(f.Docs) > 1 {
		return nil, &Problem{File: file, Msg: "a guide file holds one YAML document, not several"}
	}
	if len(f.Docs) == 1 && f.Docs[0].Body != nil {
		sc := &shapeChecker{file: file}
		sc.check(f.Docs[0].Body, reflect.TypeFor[Guide](), "the guide", false)
		if len(sc.problems) > 0 {
			return nil, sc.problems
		}
		if err := yaml.NodeToValue(f.Docs[0].Body, g, yaml.Strict()); err != nil {
			return nil, yamlProblem(file, err)
		}
		if m, ok := f.Docs[0].Body.(*ast.MappingNode); ok {
			g.keyLines = make(map[string]int, len(m.Values))
			for _, kv := range m.Values {
				if tok := kv.Key.GetToken(); tok != nil && tok.Position != nil {
					g.keyLines[keyText(kv.Key)] = tok.Position.Line
				}
			}
		}
	}
	g.File = file
	return g, nil
}

// aliasFinder remembers the first alias node it visits.
type aliasFinder struct{ at ast.Node }

// Visit implements ast.Visitor.
func (a *aliasFinder) Visit(n ast.Node) ast.Visitor {
	if a.at != nil {
		return nil
	}
	if _, ok := n.(*ast.AliasNode); ok {
		a.at = n
		return nil
	}
	return a
}

// lineError is an error of our own decoding (Value's) at a line, so that
// it reads "file:line: message" like the YAML library's.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// yamlProblem turns a YAML library error into a Problem with file:line.
func yamlProblem(file string, err error) *Problem {
	if le := (*lineError)(nil); errors.As(err, &le) {
		return &Problem{File: file, Line: le.line, Msg: le.msg}
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := &Problem{File: file, Msg: strings.TrimSpace(ye.GetMessage())}
		if tok := ye.GetToken(); tok != nil && tok.Position != nil {
			p.Line = tok.Position.Line
		}
		return p
	}
	return &Problem{File: file, Msg: strings.TrimSpace(err.Error())}
}

// Problem is one thing wrong with a guide, located in its file.
type Problem struct {
	File string
	Line int    // 0 when unknown
	Step string // "" when not about one step
	Msg  string
}

// Error renders "file:line: step "id": message".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Step != "" {
		fmt.Fprintf(&b, "step %q: ", p.Step)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one guide; it is an error.
type Problems []*Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Wording is what the bot says around a guide's fix steps. Empty fields
// take the defaults in DefaultWording, so a guide says only what differs.
type Wording struct {
	// DidItWork follows every fix's instructions ("Did that fix it?").
	DidItWork string `yaml:"did_it_work"`
	// Fixed and NotFixed label the two answers to it.
	Fixed    string `yaml:"fixed"`
	NotFixed string `yaml:"not_fixed"`
	// AskAgain is said when an answer to DidItWork was not a yes or no.
	AskAgain string `yaml:"ask_again"`
}

// DefaultWording is the wording of a guide that sets none: neutral, about
// no product in particular.
var DefaultWording = Wording{
	DidItWork: "Did that fix it?",
	Fixed:     "Yes, that fixed it",
	NotFixed:  "No, still not working",
	AskAgain:  "When you've tried the steps above, tell me: did that fix it? Answer yes or no.",
}

// withDefaults fills w's empty fields from DefaultWording.
func (w Wording) withDefaults() Wording {
	if w.DidItWork == "" {
		w.DidItWork = DefaultWording.DidItWork
	}
	if w.Fixed == "" {
		w.Fixed = DefaultWording.Fixed
	}
	if w.NotFixed == "" {
		w.NotFixed = DefaultWording.NotFixed
	}
	if w.AskAgain == "" {
		w.AskAgain = DefaultWording.AskAgain
	}
	return w
}

// Value kinds.
const (
	ValueText    = "text"
	ValueNumber  = "number"
	ValueVersion = "version"
)

// Value is one guide value. In YAML it is a plain scalar (a number is a
// number, anything else text) or a mapping that names its kind:
//
//	current_ios: {version: "26.1"}
//	current_whatsapp: {version: "2.25.33.75", prefix: "2"}
//	max_minutes: {number: 30}
//
// Conditions see numbers as numbers and versions and texts as strings;
// versions compare with older() and newer().
type Value struct {
	Kind string // ValueText, ValueNumber or ValueVersion
	// Text is the value as written (a number in decimal).
	Text string
	// Prefix (versions) is a leading part some places leave out; values
	// and answers with and without it compare equal (see Step.Prefix).
	Prefix string

	Line int
}

// valueForm is a value written as a mapping that names its kind.
type valueForm struct {
	Version *string  `yaml:"version"`
	Number  *float64 `yaml:"number"`
	Text    *string  `yaml:"text"`
	Prefix  string   `yaml:"prefix"`
}

// UnmarshalYAML reads a scalar or a {kind: value} mapping.
func (v *Value) UnmarshalYAML(node ast.Node) error {
	v.Line = node.GetToken().Position.Line
	switch n := node.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		v.Kind, v.Text = ValueNumber, n.GetToken().Value
		return nil
	case *ast.MappingNode:
		var m valueForm
		if err := yaml.NodeToValue(node, &m, yaml.Strict()); err != nil {
			return err
		}
		set := 0
		if m.Version != nil {
			v.Kind, v.Text = ValueVersion, *m.Version
			set++
		}
		if m.Number != nil {
			v.Kind, v.Text = ValueNumber, strconv.FormatFloat(*m.Number, 'f', -1, 64)
			set++
		}
		if m.Text != nil {
			v.Kind, v.Text = ValueText, *m.Text
			set++
		}
		if set != 1 {
			return &lineError{v.Line, "a value mapping names exactly one of version:, number: or text:"}
		}
		if m.Prefix != "" && v.Kind != ValueVersion {
			return &lineError{v.Line, "prefix: applies to versions only"}
		}
		v.Prefix = m.Prefix
		return nil
	default:
		var s string
		if err := yaml.NodeToValue(node, &s); err != nil {
			return &lineError{v.Line, `a value is a number, a text or a mapping such as {version: "26.1"}`}
		}
		v.Kind, v.Text = ValueText, s
		return nil
	}
}
