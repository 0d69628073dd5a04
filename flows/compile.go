package flows

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/expr-lang/expr/vm"
	"github.com/looplab/fsm"

	"troubleshooter/flows/answer"
	"troubleshooter/flows/intent"
)

// Event names of the compiled state machine besides choice ids.
const (
	eventAnswered = "answered" // input step answered
	eventSkip     = "skip"
	eventFixed    = "fixed"     // fix step helped
	eventNotFixed = "not fixed" // fix step did not help
	eventTrue     = "true"      // check condition true
	eventFalse    = "false"     // check condition false
	eventUnknown  = "unknown"   // check used a value nobody gave
)

// Guide-wide limits: they keep a hostile or careless guide from making the
// bot slow; real guides are far smaller.
const (
	maxSteps    = 500
	maxChoices  = 25 // Discord's per-message component limit
	maxKeywords = 50
)

// Step and choice ids are plain identifiers so that they read well in
// diagrams and survive in button ids; guide ids may also hold '-'.
var (
	idPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,63}$`)
	guideIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// Compiled is a checked guide ready to run. It is immutable and safe for
// concurrent use.
type Compiled struct {
	Guide *Guide
	steps map[string]*compiledStep
	// values are the guide's values after config overrides, as texts
	// (versions in their canonical form); typed holds them as conditions
	// see them (numbers as float64).
	values map[string]string
	typed  map[string]any
	// wording is the guide's Wording with defaults filled in.
	wording Wording
	// vars maps every answer variable to its input kind (choice variables
	// have kind "choice").
	vars     map[string]string
	events   fsm.Events
	resolved string // the default "fixed" target
	intro    *template.Template
	keywords []keyword
	fsmPool  sync.Pool
}

type compiledStep struct {
	*Step
	save    string
	text    *template.Template
	help    *template.Template
	tip     *template.Template
	sayThen *template.Template
	sayElse *template.Template
	cond    *vm.Program
	uses    []string // answer variables the condition reads
	options []answer.Option
	order   int // position in the file
}

type keyword struct {
	phrase string // normalized
	weight int    // words in the phrase: longer phrases are stronger evidence
	step   string
}

// Compile checks g and compiles it; values override g.Values (config.yaml's
// settings). All problems are returned together as Problems.
func Compile(g *Guide, values map[string]string) (*Compiled, error) {
	c := &Compiled{
		Guide:   g,
		steps:   make(map[string]*compiledStep, len(g.Steps)),
		values:  make(map[string]string, len(g.Values)+len(values)),
		typed:   make(map[string]any, len(g.Values)+len(values)),
		vars:    make(map[string]string),
		wording: g.Wording.withDefaults(),
	}
	l := &linter{file: g.File}
	c.setValues(l, values)
	l.guideFields(g)
	c.indexSteps(l)
	c.collectVars(l)
	c.intro = c.parseTemplate(l, &Step{ID: "intro", Line: 1}, "intro", g.Intro)
	if st := c.steps[g.Start]; st != nil && (st.Kind == KindCheck || st.Kind == KindEnd) {
		l.add(st.Line, st.ID, "the start step must ask something (ask, input or fix), not be a %s", st.Kind)
	}
	for _, st := range g.Steps {
		if st == nil {
			continue
		}
		if cs := c.steps[st.ID]; cs != nil && cs.Step == st {
			c.compileStep(l, cs)
		}
	}
	if len(l.problems) == 0 {
		c.checkGraph(l)
	}
	if len(l.problems) > 0 {
		return nil, l.problems
	}
	c.buildEvents()
	c.fsmPool.New = func() any { return fsm.NewFSM(g.Start, c.events, nil) }
	return c, nil
}

// setValues types the guide's values, applying overrides (config.yaml's,
// always texts) and reading each as its declared kind.
func (c *Compiled) setValues(l *linter, overrides map[string]string) {
	for _, name := range sortedKeys(c.Guide.Values) {
		v := c.Guide.Values[name]
		text, where := v.Text, fmt.Sprintf("value %s", name)
		if o, ok := overrides[name]; ok {
			text, where = o, fmt.Sprintf("value %s (set in config.yaml)", name)
		}
		switch v.Kind {
		case ValueNumber:
			n, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				l.add(v.Line, "", "%s: %q is not a number (write it like 30 or 2.5)", where, text)
				continue
			}
			c.values[name], c.typed[name] = strconv.FormatFloat(n, 'f', -1, 64), n
		case ValueVersion:
			ver, err := answer.Version(text)
			if err != nil || ver != strings.TrimSpace(text) && ver != strings.TrimPrefix(strings.TrimSpace(text), "v") {
				l.add(v.Line, "", "%s: %q is not one version number (write it like \"26.1\" or \"2.25.33.75\")", where, text)
				continue
			}
			ver = answer.WithPrefix(ver, v.Prefix)
			c.values[name], c.typed[name] = ver, ver
		default:
			c.values[name], c.typed[name] = text, text
		}
	}
	// Overrides of names the guide does not declare are reported by
	// LoadSet; they are kept as texts so that Compile alone stays lenient.
	for name, text := range overrides {
		if _, declared := c.Guide.Values[name]; !declared {
			c.values[name], c.typed[name] = text, text
		}
	}
}

func (c *Compiled) indexSteps(l *linter) {
	for i, st := range c.Guide.Steps {
		if st == nil {
			l.add(0, "", "step %d is empty", i+1)
			continue
		}
		switch {
		case st.ID == "":
			l.add(st.Line, "", "step has no id")
			continue
		case !idPattern.MatchString(st.ID):
			l.add(st.Line, st.ID, "step id must be lower-case letters, digits or '_' (at most 64)")
		}
		if prev, dup := c.steps[st.ID]; dup {
			l.add(st.Line, st.ID, "duplicate step id (first defined on line %d)", prev.Line)
			continue
		}
		save := st.Save
		if save == "" {
			save = st.ID
		}
		c.steps[st.ID] = &compiledStep{Step: st, save: save, order: i}
	}
	if c.Guide.Start != "" && len(c.steps) > 0 {
		if _, ok := c.steps[c.Guide.Start]; !ok {
			l.add(1, "", "start step %q does not exist", c.Guide.Start)
		}
	}
}

// collectVars records every answer variable and its kind, so that checks
// can be type-checked against them.
func (c *Compiled) collectVars(l *linter) {
	for _, st := range c.Guide.Steps {
		if st == nil {
			continue
		}
		cs := c.steps[st.ID]
		if cs == nil || cs.Step != st {
			continue
		}
		kind := ""
		switch st.Kind {
		case KindAsk:
			kind = "choice"
		case KindInput:
			kind = st.Input
		case KindFix:
			kind = "choice"
		default:
			continue
		}
		if !isIdent(cs.save) {
			l.add(st.Line, st.ID, "answer name %q must be a letter followed by letters, digits or '_' (set save: to one)", cs.save)
			continue
		}
		if prev, ok := c.vars[cs.save]; ok && prev != kind {
			l.add(st.Line, st.ID, "answer %q is saved as %s here but as %s elsewhere", cs.save, kind, prev)
			continue
		}
		if _, clash := c.values[cs.save]; clash {
			l.add(st.Line, st.ID, "answer %q has the same name as a value", cs.save)
		}
		c.vars[cs.save] = kind
	}
}

func (c *Compiled) compileStep(l *linter, cs *compiledStep) {
	st := cs.Step
	cs.text = c.parseTemplate(l, st, "text", st.Text)
	cs.help = c.parseTemplate(l, st, "help", st.Help)
	cs.tip = c.parseTemplate(l, st, "tip", st.Tip)
	if st.Tip != "" && st.Kind != KindFix {
		l.add(st.Line, st.ID, "tip: is said when a fix worked; only fix steps have one")
	}
	if st.Prefix != "" && (st.Kind != KindInput || st.Input != InputVersion) {
		l.add(st.Line, st.ID, "prefix: applies to version inputs only")
	}
	c.target(l, st, "skip", st.Skip, false)
	if len(st.Keywords) > 0 {
		switch st.Kind {
		case KindAsk, KindInput, KindFix, KindEnd:
		default:
			l.add(st.Line, st.ID, "keywords can only jump to a question, fix or end, not a %s step", st.Kind)
		}
		if len(st.Keywords) > maxKeywords {
			l.add(st.Line, st.ID, "%d keywords; at most %d are allowed", len(st.Keywords), maxKeywords)
		}
		for _, k := range st.Keywords {
			n := answer.Normalize(k)
			if n == "" {
				l.add(st.Line, st.ID, "empty keyword")
				continue
			}
			if err := intent.CheckPhrase(k); err != nil {
				l.add(st.Line, st.ID, "keyword %v", err)
				continue
			}
			c.keywords = append(c.keywords, keyword{phrase: n, weight: len(strings.Fields(n)), step: st.ID})
		}
	}
	needText := func() {
		if strings.TrimSpace(st.Text) == "" {
			l.add(st.Line, st.ID, "%s step needs text:", st.Kind)
		}
	}
	switch st.Kind {
	case KindAsk:
		needText()
		if len(st.Choices) == 0 {
			l.add(st.Line, st.ID, "ask step needs choices:")
		}
		if len(st.Choices) > maxChoices {
			l.add(st.Line, st.ID, "%d choices; at most %d are allowed", len(st.Choices), maxChoices)
		}
		seen := map[string]bool{}
		for _, ch := range st.Choices {
			if ch == nil {
				l.add(st.Line, st.ID, "empty choice")
				continue
			}
			switch {
			case ch.ID == "":
				l.add(ch.Line, st.ID, "choice has no id")
			case !idPattern.MatchString(ch.ID):
				l.add(ch.Line, st.ID, "choice id %q must be lower-case letters, digits or '_'", ch.ID)
			case ch.ID == eventSkip:
				l.add(ch.Line, st.ID, "choice id %q is reserved for the skip command", ch.ID)
			case seen[ch.ID]:
				l.add(ch.Line, st.ID, "duplicate choice id %q", ch.ID)
			}
			seen[ch.ID] = true
			if strings.TrimSpace(ch.Label) == "" {
				l.add(ch.Line, st.ID, "choice %q has no label", ch.ID)
			}
			if ch.Means != "" && ch.Means != "yes" && ch.Means != "no" {
				l.add(ch.Line, st.ID, "choice %q: means must be yes or no, not %q", ch.ID, ch.Means)
			}
			if ch.Next == "" {
				l.add(ch.Line, st.ID, "choice %q needs next:", ch.ID)
			} else if _, ok := c.steps[ch.Next]; !ok {
				l.add(ch.Line, st.ID, "choice %q: unknown target step %q", ch.ID, ch.Next)
			}
			cs.options = append(cs.options, answer.Option{ID: ch.ID, Label: ch.Label, Aliases: ch.Aliases, Means: meansOf(ch)})
		}
	case KindInput:
		needText()
		switch st.Input {
		case InputSize, InputVersion, InputNumber, InputText:
		case "":
			l.add(st.Line, st.ID, "input step needs input: (size, version, number or text)")
		default:
			l.add(st.Line, st.ID, "unknown input kind %q (want size, version, number or text)", st.Input)
		}
		c.target(l, st, "next", st.Next, true)
	case KindCheck:
		if strings.TrimSpace(st.If) == "" {
			l.add(st.Line, st.ID, "check step needs if:")
		} else {
			c.compileCondition(l, cs)
		}
		c.target(l, st, "then", st.Then, true)
		c.target(l, st, "else", st.Else, true)
		c.target(l, st, "unknown", st.Unknown, false)
		cs.sayThen = c.parseTemplate(l, st, "say_then", st.SayThen)
		cs.sayElse = c.parseTemplate(l, st, "say_else", st.SayElse)
	case KindFix:
		needText()
		c.target(l, st, "next", st.Next, true)
		if st.Fixed == "" {
			if c.resolvedStep() == "" {
				l.add(st.Line, st.ID, "fix step needs fixed: (or an end step with outcome: resolved)")
			}
		} else {
			c.target(l, st, "fixed", st.Fixed, true)
		}
	case KindEnd:
		needText()
		if st.Outcome != "resolved" && st.Outcome != "escalated" {
			l.add(st.Line, st.ID, "end step needs outcome: resolved or escalated (got %q)", st.Outcome)
		}
	case "":
		l.add(st.Line, st.ID, "step has no kind (ask, input, check, fix or end)")
	default:
		l.add(st.Line, st.ID, "unknown kind %q (want ask, input, check, fix or end)", st.Kind)
	}
	if st.Kind != KindAsk && len(st.Choices) > 0 {
		l.add(st.Line, st.ID, "only ask steps have choices")
	}
}

// meansOf reads a choice's yes/no meaning, inferring it from common ids.
func meansOf(ch *Choice) string {
	if ch.Means != "" {
		return ch.Means
	}
	switch ch.ID {
	case "yes", "on", "true", "fixed":
		return "yes"
	case "no", "off", "false":
		return "no"
	}
	return ""
}

// resolvedStep is the first end step with outcome resolved: where a fix
// that helped leads by default.
func (c *Compiled) resolvedStep() string {
	if c.resolved != "" {
		return c.resolved
	}
	for _, st := range c.Guide.Steps {
		if st != nil && st.Kind == KindEnd && st.Outcome == "resolved" {
			c.resolved = st.ID
			return st.ID
		}
	}
	return ""
}
