package flows

import (
	"sort"

	"troubleshooter/bot"
)

// Funnel is what happened to one guide's conversations: how many ended,
// which fix resolved them, how many were handed over, and where people gave
// up.
type Funnel struct {
	Guide     string     `json:"guide"`
	Title     string     `json:"title"`
	Started   int        `json:"started"`
	Resolved  int        `json:"resolved"`
	Escalated int        `json:"escalated"`
	Abandoned int        `json:"abandoned"` // stopped, expired or restarted
	Fixes     []StepStat `json:"resolved_by"`
	DropOuts  []StepStat `json:"dropped_at"`
}

// StepStat counts conversations at one step; Share is of Started.
type StepStat struct {
	Step  string  `json:"step"`
	Title string  `json:"title"`
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// Funnels summarises outcome records per guide, in the runner's guide
// order (guides no longer loaded come last, by id). Steps are listed in
// their guide's order. outcomes must be oldest first (as stores list them);
// a conversation that expired and was then resumed has several records
// (same key and start), and only its last one counts.
func (r *Runner) Funnels(outcomes []bot.Outcome) []Funnel {
	lib := r.lib.Load()
	type conv struct {
		key     string
		started int64
	}
	last := make(map[conv]int, len(outcomes))
	for i, o := range outcomes {
		last[conv{o.Key, o.Started.UnixNano()}] = i
	}
	byGuide := map[string]*Funnel{}
	fixes := map[string]map[string]int{}
	drops := map[string]map[string]int{}
	for i, o := range outcomes {
		if o.Key != "" && last[conv{o.Key, o.Started.UnixNano()}] != i {
			continue // superseded by a later ending of the same conversation
		}
		f := byGuide[o.Guide]
		if f == nil {
			f = &Funnel{Guide: o.Guide, Title: o.Guide}
			if g := lib.guides[o.Guide]; g != nil {
				f.Title = g.Guide.Title
			}
			byGuide[o.Guide] = f
			fixes[o.Guide], drops[o.Guide] = map[string]int{}, map[string]int{}
		}
		f.Started++
		switch o.Kind {
		case bot.OutcomeResolved:
			f.Resolved++
			fixes[o.Guide][o.Step]++
		case bot.OutcomeEscalated:
			f.Escalated++
		default:
			f.Abandoned++
			drops[o.Guide][o.Step]++
		}
	}
	var out []Funnel
	for _, id := range lib.fallbackOrder(byGuide) {
		f := byGuide[id]
		f.Fixes = lib.stepStats(id, fixes[id], f.Started)
		f.DropOuts = lib.stepStats(id, drops[id], f.Started)
		out = append(out, *f)
	}
	return out
}

func (l *library) fallbackOrder(m map[string]*Funnel) []string {
	var ids []string
	for _, g := range l.order {
		if m[g.Guide.ID] != nil {
			ids = append(ids, g.Guide.ID)
		}
	}
	var gone []string
	for id := range m {
		if l.guides[id] == nil {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	return append(ids, gone...)
}

func (l *library) stepStats(guide string, counts map[string]int, total int) []StepStat {
	g := l.guides[guide]
	var out []StepStat
	seen := map[string]bool{}
	add := func(step, title string) {
		if counts[step] == 0 || seen[step] {
			return
		}
		seen[step] = true
		out = append(out, StepStat{Step: step, Title: title, Count: counts[step], Share: float64(counts[step]) / float64(total)})
	}
	if g != nil {
		for _, st := range g.Guide.Steps {
			add(st.ID, g.steps[st.ID].title())
		}
	}
	var rest []string
	for step := range counts {
		if !seen[step] {
			rest = append(rest, step)
		}
	}
	sort.Strings(rest)
	for _, step := range rest {
		add(step, step)
	}
	return out
}
