package flows

import (
	"github.com/looplab/fsm"
)

// edges lists where st can lead, with the event that leads there.
func (c *Compiled) edges(st *Step) [][2]string {
	var out [][2]string
	add := func(event, to string) {
		if to != "" {
			out = append(out, [2]string{event, to})
		}
	}
	switch st.Kind {
	case KindAsk:
		for _, ch := range st.Choices {
			if ch != nil {
				add(ch.ID, ch.Next)
			}
		}
		add(eventSkip, st.Skip)
	case KindInput:
		add(eventAnswered, st.Next)
		add(eventSkip, firstNonEmpty(st.Skip, st.Next))
	case KindCheck:
		add(eventTrue, st.Then)
		add(eventFalse, st.Else)
		add(eventUnknown, firstNonEmpty(st.Unknown, st.Else))
	case KindFix:
		add(eventFixed, firstNonEmpty(st.Fixed, c.resolvedStep()))
		add(eventNotFixed, st.Next)
		add(eventSkip, firstNonEmpty(st.Skip, st.Next))
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkGraph finds unreachable steps, steps from which no end can be
// reached, and loops of checks that would spin without asking anything.
func (c *Compiled) checkGraph(l *linter) {
	g := c.Guide
	reach := map[string]bool{}
	// Steps reachable only by a first-message keyword jump count as
	// reachable, and so does what follows them.
	from := []string{g.Start}
	for _, k := range c.keywords {
		from = append(from, k.step)
	}
	flood(reach, from, func(id string) []string {
		var to []string
		for _, e := range c.edges(c.steps[id].Step) {
			to = append(to, e[1])
		}
		return to
	})
	// Backwards from the ends: which steps can still finish?
	incoming := map[string][]string{}
	var ends []string
	for _, st := range g.Steps {
		if st.Kind == KindEnd {
			ends = append(ends, st.ID)
		}
		for _, e := range c.edges(st) {
			incoming[e[1]] = append(incoming[e[1]], st.ID)
		}
	}
	canEnd := map[string]bool{}
	flood(canEnd, ends, func(id string) []string { return incoming[id] })
	for _, st := range g.Steps {
		switch {
		case !reach[st.ID]:
			l.add(st.Line, st.ID, "step is unreachable from the start step %q", g.Start)
		case !canEnd[st.ID]:
			l.add(st.Line, st.ID, "no path from this step ever reaches an end step")
		}
	}
	// A cycle made only of checks would loop forever without asking.
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var visit func(id string) bool
	visit = func(id string) bool {
		state[id] = 1
		for _, e := range c.edges(c.steps[id].Step) {
			if c.steps[e[1]].Kind != KindCheck {
				continue
			}
			if state[e[1]] == 1 || (state[e[1]] == 0 && visit(e[1])) {
				return true
			}
		}
		state[id] = 2
		return false
	}
	for _, st := range g.Steps {
		if st.Kind == KindCheck && state[st.ID] == 0 && visit(st.ID) {
			l.add(st.Line, st.ID, "checks form a loop that never asks the person anything")
			break
		}
	}
}

// flood marks in seen every step in from and every step reachable from
// them by following next.
func flood(seen map[string]bool, from []string, next func(id string) []string) {
	var queue []string
	for _, id := range from {
		if !seen[id] {
			seen[id] = true
			queue = append(queue, id)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, to := range next(id) {
			if !seen[to] {
				seen[to] = true
				queue = append(queue, to)
			}
		}
	}
}

// buildEvents turns every edge into a looplab/fsm event: answers are events.
func (c *Compiled) buildEvents() {
	for _, st := range c.Guide.Steps {
		for _, e := range c.edges(st) {
			c.events = append(c.events, fsm.EventDesc{Name: e[0], Src: []string{st.ID}, Dst: e[1]})
		}
	}
}
