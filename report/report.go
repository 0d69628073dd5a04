// Package report summarises the recorded conversations as the resolution
// funnel and renders it: as text, JSON or CSV for the report command, and
// as a self-contained HTML page for /report.
//
// What is counted, per guide, over a window that begins on the hour:
//   - started: conversations begun in the window (a restart is not a new
//     conversation; see bot.OutcomeStarted);
//   - the endings in the window, kept apart: resolved, escalated (handed
//     off), stopped, expired; an expiry the person came back to is taken
//     back (bot.OutcomeResumed) and the conversation counts by how it ends;
//   - restarted: restarts, shown apart, never an ending;
//   - per step (from the endings' paths): how many reached it, how many
//     left there (stopped or expired), how many it resolved (a fix);
//   - per UTC day: the same counts, as a trend;
//   - time to resolution: median and 90th percentile, read from hourly
//     running counts in buckets (bot.TTRBucket), so each is the upper bound
//     of the bucket it falls in.
//
// The report reads the store's running counts (bot.Tallier) when it keeps
// them, a few hundred buckets whatever the number of records; otherwise it
// folds bot.TallyAdds over every record in the window, which gives the same
// numbers, slower.
package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"troubleshooter/adapters/confval"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// Report is the funnel of each guide with conversations in the window.
type Report struct {
	// Since is when the window begins, on the hour; zero for all time.
	Since  time.Time `json:"since"`
	Guides []Guide   `json:"guides"`
}

// Guide is one guide's funnel. Shares of endings are of Ended.
type Guide struct {
	Guide string `json:"guide"`
	Title string `json:"title"`
	Totals
	// Ended is resolved + escalated + stopped + expired.
	Ended   int64  `json:"ended"`
	Steps   []Step `json:"steps"`
	Days    []Day  `json:"days"`
	TTR     TTR    `json:"time_to_resolution"`
	Resumed int64  `json:"resumed"` // expiries taken back when the person came back
	Shares  Shares `json:"shares"`
}

// Totals are the counts of one guide over the window or one day.
type Totals struct {
	Started   int64 `json:"started"`
	Resolved  int64 `json:"resolved"`
	Escalated int64 `json:"escalated"` // handed off to people
	Stopped   int64 `json:"stopped"`
	Expired   int64 `json:"expired"`
	Restarted int64 `json:"restarted"` // not an ending
}

// Shares are the endings as fractions of Guide.Ended (0 when none ended).
type Shares struct {
	Resolved  float64 `json:"resolved"`
	Escalated float64 `json:"escalated"`
	Stopped   float64 `json:"stopped"`
	Expired   float64 `json:"expired"`
}

// Step is what happened at one step, among the conversations that ended in
// the window. ReachedShare is of the guide's endings; LeftShare and
// FixedShare are of those that reached the step.
type Step struct {
	Step         string  `json:"step"`
	Title        string  `json:"title"`
	Kind         string  `json:"kind"` // the step's kind; "" for a step no longer in the guide
	Reached      int64   `json:"reached"`
	Left         int64   `json:"left"`     // stopped or expired here
	Fixed        int64   `json:"resolved"` // resolved by this step (a fix)
	Restarted    int64   `json:"restarted"`
	ReachedShare float64 `json:"reached_share"`
	LeftShare    float64 `json:"left_share"`
	FixedShare   float64 `json:"resolved_share"`
}

// Day is one UTC day of the trend; days without any count between the
// first and the last are listed with zeros.
type Day struct {
	Day string `json:"day"` // 2006-01-02, UTC
	Totals
}

// TTR is the time to resolution of the conversations resolved in the
// window, from bucketed counts: Median and P90 are the upper bounds of the
// buckets they fall in ("≤ 5m"), or "> 24h" past the last bound.
type TTR struct {
	Resolved int64       `json:"resolved"`
	Median   string      `json:"median"` // "" when nothing was resolved
	P90      string      `json:"p90"`
	Bucketed bool        `json:"bucketed"` // always true: say so wherever it is shown
	Buckets  []TTRBucket `json:"buckets"`
}

// TTRBucket is one bucket of resolutions: those that took at most UpTo
// ("" for the open last bucket: longer than the last bound).
type TTRBucket struct {
	Label string  `json:"label"` // "≤ 5m", "> 24h"
	UpTo  float64 `json:"up_to_seconds"`
	Count int64   `json:"count"`
}

// maxSince is the longest --since window: a hundred years of days.
const maxSince = 36500 * 24 * time.Hour

// ParseSince reads a duration as config.yaml takes them ("7d", "1d12h",
// "36h", "90m"; at most maxSince) or a date (2026-01-31, UTC, not after
// now) into the start of the report window; "" and "all" mean all time.
// Every error names the --since flag.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" || s == "all" {
		return time.Time{}, nil
	}
	// Durations as config.yaml has them (days included), so that "1d12h"
	// means here what it means for idle_timeout.
	if d, err := confval.ParseDuration(s); err == nil && d >= 0 && d <= maxSince {
		return now.Add(-d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if t.After(now) {
			// An empty report would look like a quiet week.
			return time.Time{}, fmt.Errorf("--since %s is in the future", s)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration such as 7d or 36h, a date such as 2026-01-31, or all", s)
}

// NoGuideError is returned by Build for a guide that is neither loaded nor
// in the records of the window.
type NoGuideError struct {
	Name string
	Have []string // the guides loaded
}

// Error says which guide is missing and which are loaded.
func (e *NoGuideError) Error() string {
	return fmt.Sprintf("no guide called %s (have: %s)", e.Name, strings.Join(e.Have, ", "))
}

// counts are one guide's running counts by field, and by UTC day.
type counts struct {
	fields map[string]int64
	days   map[string]*Totals
}

// add applies n to field of the bucket of hour; day is that bucket's day,
// looked up on first need and kept by the caller for the bucket's other
// fields (a report adds tens of thousands of fields).
func (c *counts) add(hour time.Time, day **Totals, field string, n int64) {
	c.fields[field] += n
	switch field {
	case bot.OutcomeStarted, bot.OutcomeResolved, bot.OutcomeEscalated, bot.OutcomeStopped, bot.OutcomeExpired, bot.OutcomeRestarted:
	default:
		return
	}
	if *day == nil {
		k := hour.UTC().Format(time.DateOnly)
		if *day = c.days[k]; *day == nil {
			*day = &Totals{}
			c.days[k] = *day
		}
	}
	*(*day).field(field) += n
}

// field is the count of kind in t.
func (t *Totals) field(kind string) *int64 {
	switch kind {
	case bot.OutcomeStarted:
		return &t.Started
	case bot.OutcomeResolved:
		return &t.Resolved
	case bot.OutcomeEscalated:
		return &t.Escalated
	case bot.OutcomeStopped:
		return &t.Stopped
	case bot.OutcomeExpired:
		return &t.Expired
	}
	return &t.Restarted
}

// Build reads the running counts since then (from the hour it falls in)
// and summarises them; only is a guide id, or "" for all. A guide that is
// not loaded but has records still counts; one that has neither is a
// *NoGuideError.
func Build(ctx context.Context, store bot.Store, runner *flows.Runner, since time.Time, only string) (*Report, error) {
	from := since.Truncate(time.Hour)
	if since.IsZero() {
		from = time.Time{}
	}
	byGuide := map[string]*counts{}
	guide := func(id string) *counts {
		c := byGuide[id]
		if c == nil {
			c = &counts{fields: map[string]int64{}, days: map[string]*Totals{}}
			byGuide[id] = c
		}
		return c
	}
	if t, ok := store.(bot.Tallier); ok {
		err := t.Tallies(ctx, from, func(k bot.TallyKey, fields map[string]int64) error {
			if only != "" && k.Guide != only {
				return nil
			}
			c := guide(k.Guide)
			var day *Totals
			for f, n := range fields {
				c.add(k.Hour, &day, f, n)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading the running counts: %w", err)
		}
	} else {
		// Records list by when they ended; a started record ends when it
		// starts, and a resumed one when its expiry did, so every record
		// whose bucket is in the window is read, and the buckets decide.
		err := store.Outcomes(ctx, from, func(o bot.Outcome) error {
			for _, a := range bot.TallyAdds(o) {
				if a.Bucket.Hour.Before(from) || (only != "" && a.Bucket.Guide != only) {
					continue
				}
				var day *Totals
				guide(a.Bucket.Guide).add(a.Bucket.Hour, &day, a.Field, a.N)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading outcomes: %w", err)
		}
	}
	if only != "" && byGuide[only] == nil {
		if runner.Guide(only) == nil {
			return nil, &NoGuideError{Name: only, Have: runner.IDs()}
		}
	}
	rep := &Report{Since: from, Guides: []Guide{}}
	for _, id := range order(runner, byGuide) {
		rep.Guides = append(rep.Guides, summarise(runner, id, byGuide[id]))
	}
	return rep, nil
}

// order is the guides with counts in the runner's guide order, then those
// no longer loaded, by id.
func order(runner *flows.Runner, byGuide map[string]*counts) []string {
	var ids []string
	for _, id := range runner.IDs() {
		if byGuide[id] != nil {
			ids = append(ids, id)
		}
	}
	var gone []string
	for id := range byGuide {
		if runner.Guide(id) == nil {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	return append(ids, gone...)
}

// share is n of total, 0 when total is not positive.
func share(n, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(n) / float64(total)
}

func summarise(runner *flows.Runner, id string, c *counts) Guide {
	f := c.fields
	g := Guide{Guide: id, Title: id, Resumed: f[bot.OutcomeResumed]}
	g.Started, g.Resolved, g.Escalated = f[bot.OutcomeStarted], f[bot.OutcomeResolved], f[bot.OutcomeEscalated]
	g.Stopped, g.Expired, g.Restarted = f[bot.OutcomeStopped], f[bot.OutcomeExpired], f[bot.OutcomeRestarted]
	g.Ended = g.Resolved + g.Escalated + g.Stopped + g.Expired
	g.Shares = Shares{share(g.Resolved, g.Ended), share(g.Escalated, g.Ended), share(g.Stopped, g.Ended), share(g.Expired, g.Ended)}
	g.Steps = steps(runner, id, f, g.Ended)
	g.Days = days(c.days)
	g.TTR = ttr(f)
	if cg := runner.Guide(id); cg != nil {
		g.Title = cg.Guide.Title
	}
	return g
}

// steps lists the steps with any count, in the guide's order, then steps no
// longer in it, by id.
func steps(runner *flows.Runner, id string, f map[string]int64, ended int64) []Step {
	stat := func(step string) Step {
		s := Step{Step: step, Title: step,
			Reached: f[bot.TallyReached+step], Left: f[bot.TallyLeft+step],
			Fixed: f[bot.TallyFixed+step], Restarted: f[bot.TallyRestart+step]}
		s.ReachedShare = share(s.Reached, ended)
		s.LeftShare, s.FixedShare = share(s.Left, s.Reached), share(s.Fixed, s.Reached)
		return s
	}
	used := func(s Step) bool { return s.Reached != 0 || s.Left != 0 || s.Fixed != 0 || s.Restarted != 0 }
	var out []Step
	known := map[string]bool{}
	if cg := runner.Guide(id); cg != nil {
		for _, st := range cg.Guide.Steps {
			known[st.ID] = true
			if s := stat(st.ID); used(s) {
				s.Kind = st.Kind
				if st.Title != "" {
					s.Title = st.Title
				}
				out = append(out, s)
			}
		}
	}
	var rest []string
	for field := range f {
		for _, prefix := range []string{bot.TallyReached, bot.TallyLeft, bot.TallyFixed, bot.TallyRestart} {
			if step, ok := strings.CutPrefix(field, prefix); ok && !known[step] {
				known[step] = true
				rest = append(rest, step)
			}
		}
	}
	sort.Strings(rest)
	for _, step := range rest {
		if s := stat(step); used(s) {
			out = append(out, s)
		}
	}
	return out
}

// days lists the days from the first to the last with counts, each once.
func days(m map[string]*Totals) []Day {
	if len(m) == 0 {
		return []Day{}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	first, err1 := time.Parse(time.DateOnly, keys[0])
	last, err2 := time.Parse(time.DateOnly, keys[len(keys)-1])
	if err := errors.Join(err1, err2); err != nil {
		// Keys are formatted by add; a parse failure is a bug.
		panic(err)
	}
	var out []Day
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		day := Day{Day: k}
		if t := m[k]; t != nil {
			day.Totals = *t
		}
		out = append(out, day)
	}
	return out
}

// ttr reads the time-to-resolution buckets of f.
func ttr(f map[string]int64) TTR {
	t := TTR{Bucketed: true, Buckets: []TTRBucket{}}
	last := bot.TTRBucket(1 << 62) // the open bucket, past every bound
	var counts []int64
	for i := 0; i <= last; i++ {
		n := f[bot.TallyTTR+strconv.Itoa(i)]
		counts = append(counts, n)
		t.Resolved += n
	}
	for i, n := range counts {
		if n != 0 {
			t.Buckets = append(t.Buckets, TTRBucket{Label: ttrLabel(i), UpTo: bot.TTRBucketBound(i).Seconds(), Count: n})
		}
	}
	if t.Resolved <= 0 {
		return t
	}
	quantile := func(q float64) string {
		var seen int64
		for i, n := range counts {
			seen += n
			if float64(seen) >= q*float64(t.Resolved) {
				return ttrLabel(i)
			}
		}
		return ttrLabel(last)
	}
	t.Median, t.P90 = quantile(0.5), quantile(0.9)
	return t
}

// ttrLabel names bucket i by its bound: "≤ 5m", or "> 24h" for the last.
func ttrLabel(i int) string {
	if b := bot.TTRBucketBound(i); b > 0 {
		return "≤ " + shortDuration(b)
	}
	return "> " + shortDuration(bot.TTRBucketBound(i-1))
}

// shortDuration prints d as 30s, 5m or 4h.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}
