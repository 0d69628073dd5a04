package flows

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

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

// shapeChecker checks a parsed guide's keys and the shapes of its values
// against the Go types, before decoding, so that every unknown key is
// reported at once with the closest known one, and a value of the wrong
// shape says which shape it needs, instead of the decoder's "cannot
// unmarshal []interface {} into Go struct field Guide.ID of type string".
// The keys come from the yaml tags by reflection, so they cannot drift
// from what the decoder accepts (the decoder still runs, strictly, after).
type shapeChecker struct {
	file     string
	problems Problems
}

var (
	typeValue     = reflect.TypeFor[Value]()
	typeValueForm = reflect.TypeFor[valueForm]()
)

// structNames say whose keys a struct holds, in "a step's keys are: …".
var structNames = map[reflect.Type]string{
	reflect.TypeFor[Guide]():   "a guide's",
	reflect.TypeFor[Step]():    "a step's",
	reflect.TypeFor[Choice]():  "a choice's",
	reflect.TypeFor[Wording](): "wording's",
	typeValueForm:              "a value's",
}

func (sc *shapeChecker) add(n ast.Node, format string, args ...any) {
	sc.problems = append(sc.problems, &Problem{File: sc.file, Line: nodeLine(n), Msg: fmt.Sprintf(format, args...)})
}

// check walks n as a value of type t; what names it in messages ("steps:").
// item is true for the items of a list, worded "each item needs …".
func (sc *shapeChecker) check(n ast.Node, t reflect.Type, what string, item bool) {
	n = unwrapNode(n)
	got := nodeShape(n)
	if got == "" {
		return // empty: the decoder leaves the zero value, the linter says if it is needed
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	needs := func(shape string) {
		if item {
			what += " each item"
		}
		hint := ""
		if shape == "a text" && got == "mapping" {
			hint = `; put it in quotes if it holds ": "`
		}
		sc.add(n, "%s needs %s, not a %s%s", what, shape, got, hint)
	}
	switch {
	case t == typeValue:
		switch got {
		case "mapping":
			sc.keys(n, typeValueForm)
		case "list":
			needs(`a number, a text or a mapping such as {version: "26.1"}`)
		}
	case t.Kind() == reflect.Struct:
		if got != "mapping" {
			needs("a mapping (keys and values)")
			return
		}
		sc.keys(n, t)
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			needs(`a list (lines starting with "- ")`)
			return
		}
		for _, v := range seq.Values {
			sc.check(v, t.Elem(), what, true)
		}
	case t.Kind() == reflect.Map:
		if got != "mapping" {
			needs("a mapping (keys and values)")
			return
		}
		for _, kv := range mappingValues(n) {
			sc.check(kv.Value, t.Elem(), what, false)
		}
	default: // texts, numbers: any scalar reads as one
		if got == "mapping" || got == "list" {
			needs("a text")
		}
	}
}

// keys checks the keys of the mapping n against the struct t and walks
// the values of the known ones.
func (sc *shapeChecker) keys(n ast.Node, t reflect.Type) {
	fields := yamlFields(t)
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	for _, kv := range mappingValues(n) {
		key := keyText(kv.Key)
		i := slices.IndexFunc(fields, func(f yamlField) bool { return f.name == key })
		if i < 0 {
			if near := closestKey(key, names); near != "" {
				sc.add(kv.Key, "unknown field %q; did you mean %q?", key, near)
			} else {
				sc.add(kv.Key, "unknown field %q (%s keys are: %s)", key, structNames[t], strings.Join(names, ", "))
			}
			continue
		}
		if fields[i].typ.Kind() == reflect.String && nodeShape(unwrapNode(kv.Value)) == "mapping" && nodeLine(kv.Value) > nodeLine(kv.Key) {
			// "text:" then lines of "First: …": a text meant to span
			// lines, which YAML read as a mapping.
			sc.add(kv.Value, "%s: needs a text, not a mapping; to write a text over several lines, put | after the key (%s: |) and indent its lines below it", key, key)
			continue
		}
		sc.check(kv.Value, fields[i].typ, key+":", false)
	}
}

// yamlField is one key a struct reads from YAML.
type yamlField struct {
	name string
	typ  reflect.Type
}

// yamlFields lists the keys of struct t in field order: each exported
// field's yaml tag name; fields tagged "-" are not keys.
func yamlFields(t reflect.Type) []yamlField {
	var out []yamlField
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // the decoder's default
		}
		out = append(out, yamlField{name, f.Type})
	}
	return out
}

// unwrapNode looks through anchors and tags to the value they mark.
func unwrapNode(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

// nodeShape names the shape of n as people would: "mapping", "list",
// "number", "true/false" or "text"; "" for an empty value.
func nodeShape(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return ""
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	case *ast.SequenceNode:
		return "list"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number"
	case *ast.BoolNode:
		return "true/false"
	default:
		return "text"
	}
}

// mappingValues returns the key-value pairs of a mapping node; the parser
// gives a one-pair mapping as the pair itself.
func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch x := n.(type) {
	case *ast.MappingNode:
		return x.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{x}
	}
	return nil
}

// keyText is a key as written, without quotes.
func keyText(k ast.Node) string {
	if s, ok := unwrapNode(k).(*ast.StringNode); ok {
		return s.Value
	}
	if tok := k.GetToken(); tok != nil {
		return tok.Value
	}
	return k.String()
}

// nodeLine is n's line, or 0 when it has none.
func nodeLine(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		return tok.Position.Line
	}
	return 0
}

// closestKey returns the key in keys that s most likely misspells, or ""
// when none is close: the same key in another case or with '-' for '_',
// else the nearest within one edit for short words and two for longer
// ones (a swap of two neighbouring letters, as in "strat", is one edit).
func closestKey(s string, keys []string) string {
	norm := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	if slices.Contains(keys, norm) {
		return norm
	}
	limit := 2
	switch n := len([]rune(norm)); {
	case n <= 1:
		return ""
	case n <= 5:
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, k := range keys {
		if d := editDistance(norm, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
