package flows

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Outcomes of a Path.
const (
	PathResolved  = "resolved"  // a fix helped and the path reached a resolved end
	PathEscalated = "escalated" // the path reached an escalated end
	PathWaits     = "waits"     // an ask step's choice leads back to the step itself (a wait)
	PathLoops     = "loops"     // the path came back to a question it had already asked
)

// Abstract answers of a Path besides choice ids and check verdicts.
const (
	PathAnswered = "answered" // an input step was answered (its value is not modelled)
	PathSkipped  = "skipped"  // an ask or input step was skipped
)

// MaxPaths bounds Paths: a guide whose paths outnumber it is listed in part
// (see EnumeratePaths).
const MaxPaths = 100_000

// PathStep is one step a Path passes through and how it went on there.
type PathStep struct {
	// Step is the step id.
	Step string
	// Kind is the step's kind (KindAsk, KindInput, KindCheck or KindFix).
	Kind string
	// Event is the answer: a choice id or PathSkipped (ask), PathAnswered
	// or PathSkipped (input), "true", "false" or "unknown" (check),
	// "fixed" or "not fixed" (fix).
	Event string
}

// Path is one way through a compiled guide from its start step, as the
// runner would walk it.
type Path struct {
	// Steps are the answers, check verdicts and fixes in the order they
	// happen. Fixes passed over because they were already tried (same
	// answer name) are not in it: they are not offered.
	Steps []PathStep
	// Fixes are the ids of the fix steps offered, in order.
	Fixes []string
	// Outcome is PathResolved, PathEscalated, PathWaits or PathLoops.
	Outcome string
	// End is the end step reached; for PathWaits and PathLoops, the step
	// the path would go back to.
	End string
	// FixedBy is the fix that helped (PathResolved only).
	FixedBy string
}

// Answer returns the event of the non-fix step id on p (a choice,
// PathAnswered, PathSkipped or a check verdict) and whether p passes it.
func (p Path) Answer(step string) (string, bool) {
	for _, s := range p.Steps {
		if s.Step == step && s.Kind != KindFix {
			return s.Event, true
		}
	}
	return "", false
}

// FixIndex returns the position of fix step id in p.Fixes, or -1.
func (p Path) FixIndex(step string) int { return slices.Index(p.Fixes, step) }

// AnswersBefore returns how many answers (non-fix steps other than checks)
// p holds before fix step id is offered, or -1 when it is not offered.
func (p Path) AnswersBefore(step string) int {
	n := 0
	for _, s := range p.Steps {
		if s.Kind == KindFix && s.Step == step {
			return n
		}
		if s.Kind == KindAsk || s.Kind == KindInput {
			n++
		}
	}
	return -1
}

// String is the path on one line, for test messages.
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p.Steps {
		if s.Kind == KindFix {
			fmt.Fprintf(&b, "[%s: %s] → ", s.Step, s.Event)
		} else {
			fmt.Fprintf(&b, "%s=%s → ", s.Step, s.Event)
		}
	}
	b.WriteString(p.Outcome)
	if p.End != "" {
		b.WriteString(" (" + p.End + ")")
	}
	return b.String()
}

// Paths enumerates every distinct path through c from its start step, as
// the runner walks the compiled machine:
//   - an ask step branches by each choice, and by skip where it may be
//     skipped; a choice leading back to the step itself is one PathWaits
//     path and is not followed;
//   - an input step branches into answered and skipped; its value is
//     modelled abstractly;
//   - a check is unknown when a variable it reads was not given on the
//     path; when all were given it is evaluated where they are choices,
//     and branches into true and false where an input is among them (the
//     same condition gets the same verdict again later on the path);
//   - a fix branches into fixed (ending the path, normally at a resolved
//     end) and not fixed; a fix whose answer name already holds "no" is
//     passed over, as the runner does;
//   - a path that comes back to a question already asked ends as
//     PathLoops.
//
// Paths are listed in enumeration order (choices in file order); at most
// MaxPaths are returned (see EnumeratePaths to learn whether that capped
// them).
func Paths(c *Compiled) []Path {
	paths, _ := EnumeratePaths(c, MaxPaths)
	return paths
}

// EnumeratePaths is Paths with its own bound: it returns at most limit
// paths and reports whether there were more.
func EnumeratePaths(c *Compiled, limit int) (paths []Path, capped bool) {
	e := &pathEnum{c: c, limit: limit, seen: map[string]bool{}}
	e.walk(c.Guide.Start, pathState{answers: map[string]string{}, verdicts: map[string]string{}, asked: map[string]bool{}})
	return e.paths, e.capped
}

type pathEnum struct {
	c      *Compiled
	limit  int
	paths  []Path
	seen   map[string]bool
	capped bool
}

// pathState is what a path so far holds. Branches clone it (fork).
type pathState struct {
	trail []PathStep
	fixes []string
	// answers maps answer names to their values: choice ids, "yes"/"no"
	// for fixes, PathAnswered for inputs; skipped ones are absent.
	answers map[string]string
	// verdicts maps conditions (their text) decided on this path from
	// abstract inputs to their verdict, so a recheck agrees.
	verdicts map[string]string
	asked    map[string]bool // ask and input steps already on the path
}

func (s pathState) fork(step, kind, event string) pathState {
	n := pathState{
		trail:    append(slices.Clip(s.trail), PathStep{Step: step, Kind: kind, Event: event}),
		fixes:    slices.Clip(s.fixes),
		answers:  maps.Clone(s.answers),
		verdicts: maps.Clone(s.verdicts),
		asked:    maps.Clone(s.asked),
	}
	if kind == KindFix {
		n.fixes = append(n.fixes, step)
	}
	return n
}

func (e *pathEnum) emit(s pathState, outcome, end, fixedBy string) {
	if e.capped {
		return
	}
	p := Path{Steps: s.trail, Fixes: s.fixes, Outcome: outcome, End: end, FixedBy: fixedBy}
	key := p.String()
	if e.seen[key] {
		return
	}
	if len(e.paths) >= e.limit {
		e.capped = true
		return
	}
	e.seen[key] = true
	e.paths = append(e.paths, p)
}

func (e *pathEnum) walk(id string, s pathState) {
	// Checks and passed-over fixes move on without asking; the linter
	// rules out loops of checks, and this bound guards anyway.
	for range 2*len(e.c.steps) + 2 {
		if e.capped {
			return
		}
		cs := e.c.steps[id]
		switch cs.Kind {
		case KindEnd:
			fixedBy := ""
			outcome := PathEscalated
			if cs.Outcome == PathResolved {
				outcome = PathResolved
				if n := len(s.fixes); n > 0 {
					fixedBy = s.fixes[n-1]
				}
			}
			e.emit(s, outcome, id, fixedBy)
			return
		case KindCheck:
			for _, v := range e.verdictsFor(cs, s) {
				n := s.fork(id, KindCheck, v)
				if e.abstract(cs) {
					n.verdicts[cs.If] = v
				}
				e.walk(e.next(cs, v), n)
			}
			return
		case KindFix:
			if s.answers[cs.save] == "no" {
				id = cs.Next // never offer a fix twice
				continue
			}
			fixed := s.fork(id, KindFix, eventFixed)
			fixed.answers[cs.save] = "yes"
			e.walk(e.next(cs, eventFixed), fixed)
			not := s.fork(id, KindFix, eventNotFixed)
			not.answers[cs.save] = "no"
			e.walk(cs.Next, not)
			return
		case KindAsk, KindInput:
			if s.asked[id] {
				e.emit(s, PathLoops, id, "")
				return
			}
			for _, ed := range e.c.edges(cs.Step) {
				event, to := ed[0], ed[1]
				ev := event
				if event == eventSkip {
					ev = PathSkipped
				}
				n := s.fork(id, cs.Kind, ev)
				n.asked[id] = true
				switch {
				case event == eventSkip:
					delete(n.answers, cs.save)
				case cs.Kind == KindInput:
					n.answers[cs.save] = PathAnswered
				default:
					n.answers[cs.save] = event
				}
				if to == id {
					e.emit(n, PathWaits, id, "")
					continue
				}
				e.walk(to, n)
			}
			return
		}
		return
	}
}

// next is where event leads from cs.
func (e *pathEnum) next(cs *compiledStep, event string) string {
	for _, ed := range e.c.edges(cs.Step) {
		if ed[0] == event {
			return ed[1]
		}
	}
	return ""
}

// abstract reports whether cs reads an input's value, which paths do not
// model: such a check branches true and false.
func (e *pathEnum) abstract(cs *compiledStep) bool {
	for _, name := range cs.uses {
		if e.c.vars[name] != "choice" {
			return true
		}
	}
	return false
}

// verdictsFor lists the verdicts cs can reach on a path holding s.
func (e *pathEnum) verdictsFor(cs *compiledStep, s pathState) []string {
	for _, name := range cs.uses {
		if _, ok := s.answers[name]; !ok {
			return []string{eventUnknown}
		}
	}
	if e.abstract(cs) {
		if v, ok := s.verdicts[cs.If]; ok {
			return []string{v}
		}
		return []string{eventTrue, eventFalse}
	}
	env := maps.Clone(e.c.typed)
	for _, name := range cs.uses {
		env[name] = s.answers[name]
	}
	out, err := runProgram(cs, env)
	switch {
	case err != nil:
		return []string{eventUnknown}
	case out:
		return []string{eventTrue}
	}
	return []string{eventFalse}
}

// pathRow is one row of the markdown table: paths that differ only in
// the answer to one step or another are merged into one row whose slots
// hold every answer they share.
type pathRow struct {
	slots   []pathSlot
	outcome string
	end     string
}

type pathSlot struct {
	step, kind string
	events     []string
}

func (r *pathRow) key(skip int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d", r.outcome, r.end, skip)
	for i, s := range r.slots {
		b.WriteString("|" + s.step)
		if i != skip {
			b.WriteString("=" + strings.Join(s.events, "/"))
		}
	}
	return b.String()
}

// mergeRows merges rows that differ in the answers of one slot only,
// until no more merge: each merged row stands for exactly the paths it
// lists (every combination of its slots' answers).
func mergeRows(rows []*pathRow) []*pathRow {
	for changed := true; changed; {
		changed = false
		longest := 0
		for _, r := range rows {
			longest = max(longest, len(r.slots))
		}
		for i := longest - 1; i >= 0; i-- {
			index := map[string]*pathRow{}
			var out []*pathRow
			for _, r := range rows {
				if i >= len(r.slots) || r.slots[i].kind == KindFix {
					out = append(out, r)
					continue
				}
				k := r.key(i)
				if first, ok := index[k]; ok {
					for _, ev := range r.slots[i].events {
						if !slices.Contains(first.slots[i].events, ev) {
							first.slots[i].events = append(first.slots[i].events, ev)
						}
					}
					changed = true
					continue
				}
				index[k] = r
				out = append(out, r)
			}
			rows = out
		}
	}
	return rows
}

// WritePathsMarkdown writes the audit of c's paths (see Paths) as a
// markdown table: one row per path that does not end with a fix that
// helped, with its answers, the fixes it offers in order and its outcome.
// Paths where a fix helped are collapsed into the row they branch off
// (any fix listed can resolve it); paths that differ only in one answer
// are merged into one row listing the answers ("on / skipped").
func WritePathsMarkdown(w io.Writer, c *Compiled) error {
	paths, capped := EnumeratePaths(c, MaxPaths)
	var rows []*pathRow
	count := map[string]int{}
	for _, p := range paths {
		count[p.Outcome]++
		if p.Outcome == PathResolved {
			continue
		}
		r := &pathRow{outcome: p.Outcome, end: p.End}
		for _, s := range p.Steps {
			r.slots = append(r.slots, pathSlot{step: s.Step, kind: s.Kind, events: []string{s.Event}})
		}
		rows = append(rows, r)
	}
	rows = mergeRows(rows)
	id := c.Guide.ID
	var b strings.Builder
	fmt.Fprintf(&b, "# Paths through %s\n\n", id)
	fmt.Fprintf(&b, "<!-- Generated by `troubleshooter flows paths %s` from the compiled guide; do not edit by hand. -->\n\n", id)
	fmt.Fprintf(&b, "Generated by `troubleshooter flows paths %s` from the compiled guide (%s, version %s); **do not edit by hand**: change the guide and regenerate.\n\n", id, c.Guide.File, c.Guide.Version)
	b.WriteString("Every path from the start step, as the runner walks it: each choice of a question (and skip where allowed), inputs answered or skipped, checks true or false when all their inputs were answered and unknown otherwise, each fix either helping or not, and fixes already tried passed over. ")
	b.WriteString("A path where a fix helped ends there, resolved: those paths are not listed apart, since each is the row it branches off cut short at that fix (\"resolved by any fix listed\"). ")
	b.WriteString("Paths that differ only in one answer share a row (answers joined by /).\n\n")
	fmt.Fprintf(&b, "%d paths: %d escalated, %d resolved, %d waiting, %d looping; %d rows.\n\n",
		len(paths), count[PathEscalated], count[PathResolved], count[PathWaits], count[PathLoops], len(rows))
	if capped {
		fmt.Fprintf(&b, "**The enumeration stopped at %d paths: the list is incomplete.**\n\n", MaxPaths)
	}
	b.WriteString("| # | Answers | Fixes offered, in order | Outcome |\n|---|---|---|---|\n")
	for i, r := range rows {
		var answers, fixes []string
		for _, s := range r.slots {
			if s.kind == KindFix {
				fixes = append(fixes, s.step)
				continue
			}
			answers = append(answers, s.step+": "+strings.Join(s.events, " / "))
		}
		var outcome string
		switch r.outcome {
		case PathEscalated:
			outcome = "escalated (" + r.end + ")"
		case PathWaits:
			last := r.slots[len(r.slots)-1]
			outcome = "waits at " + r.end + " (" + strings.Join(last.events, " / ") + ")"
		case PathLoops:
			outcome = "loops back to " + r.end
		}
		if len(fixes) > 0 {
			outcome = "resolved by any fix listed, else " + outcome
		}
		fixCell := "—"
		if len(fixes) > 0 {
			fixCell = strings.Join(fixes, " → ")
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", i+1, strings.Join(answers, " · "), fixCell, outcome)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
