package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"troubleshooter/bot"
	"troubleshooter/flows/answer"
)

// exprEnv is the type environment a condition is checked against: answers
// and values with the Go types they have at run time.
func (c *Compiled) exprEnv() map[string]any {
	env := make(map[string]any, len(c.vars)+len(c.values))
	for name, v := range c.typed {
		env[name] = v
	}
	for name, kind := range c.vars {
		switch kind {
		case InputSize, InputNumber:
			env[name] = float64(0)
		default:
			env[name] = ""
		}
	}
	return env
}

func (c *Compiled) compileCondition(l *linter, cs *compiledStep) {
	prog, err := expr.Compile(cs.If, append([]expr.Option{expr.Env(c.exprEnv()), expr.AsBool()}, exprFuncs...)...)
	if err != nil {
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		l.add(cs.Line, cs.ID, "if: %s", msg)
		return
	}
	cs.cond = prog
	node := prog.Node()
	v := &identCollector{}
	ast.Walk(&node, v)
	for _, name := range v.names {
		if _, ok := c.vars[name]; ok && !slices.Contains(cs.uses, name) {
			cs.uses = append(cs.uses, name)
		}
	}
}

type identCollector struct{ names []string }

// Visit implements ast.Visitor.
func (v *identCollector) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v.names = append(v.names, id.Value)
	}
}

// exprFuncs are the functions conditions may call.
var exprFuncs = []expr.Option{
	expr.Function("older", func(p ...any) (any, error) {
		cmp, err := answer.CompareVersions(p[0].(string), p[1].(string))
		return cmp < 0, err
	}, new(func(string, string) bool)),
	expr.Function("newer", func(p ...any) (any, error) {
		cmp, err := answer.CompareVersions(p[0].(string), p[1].(string))
		return cmp > 0, err
	}, new(func(string, string) bool)),
}

// evaluate runs a check's condition; a value it needs that nobody gave, or
// a value it cannot compare, makes the verdict unknown.
func (g *Compiled) evaluate(cs *compiledStep, s *bot.Session) string {
	for _, name := range cs.uses {
		if _, ok := s.Answers[name]; !ok {
			return eventUnknown
		}
	}
	env := make(map[string]any, len(g.typed)+len(cs.uses))
	for k, v := range g.typed {
		env[k] = v
	}
	for _, name := range cs.uses {
		raw := s.Answers[name]
		switch g.vars[name] {
		case InputSize, InputNumber:
			n, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return eventUnknown
			}
			env[name] = n
		default:
			env[name] = raw
		}
	}
	out, err := runProgram(cs, env)
	if err != nil {
		return eventUnknown
	}
	if out {
		return eventTrue
	}
	return eventFalse
}

// runProgram runs a compiled condition; the linter made sure it is boolean.
func runProgram(cs *compiledStep, env map[string]any) (bool, error) {
	out, err := expr.Run(cs.cond, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %T", out)
	}
	return b, nil
}
