package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"troubleshooter/bot"
)

// base is a fixed instant with nanoseconds and a non-UTC zone, so a store
// that truncates or mangles times is caught.
var base = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("UTC+2", 2*3600))

// fullSession returns a session with every field set to a non-zero value.
func fullSession(key string) *bot.Session {
	return &bot.Session{
		Key: key,
		Address: bot.Address{
			Platform:  "slack",
			Workspace: "T01",
			Channel:   "C/02%",
			Thread:    "1700000000.000100",
			User:      "U03 ünïcode",
		},
		Guide:        "printer",
		GuideVersion: "2.1.0",
		Step:         "check_cable",
		Answers:      map[string]string{"model": "LaserJet 4", "os": "linux", "empty": ""},
		History: []bot.Frame{
			{Step: "ask_model", Var: "model", Prev: "", HadPrev: false},
			{Step: "ask_os", Var: "os", Prev: "windows", HadPrev: true},
			{Step: "intro"},
		},
		Events:    []string{"ev-1", "ev-2", "ev-3"},
		Started:   base,
		Updated:   base.Add(90*time.Second + 7),
		Done:      true,
		Outcome:   bot.OutcomeResolved,
		HandedOff: true,
		PendingHandoff: &bot.Handoff{
			Key: key, Address: bot.Address{Platform: "slack", User: "U03"}, Guide: "printer", GuideTitle: "Printer",
			Summary: "**Answers**\n- model: LaserJet 4", Started: base, At: base.Add(time.Minute),
		},
		Nudged: true,
		Due:    base.Add(time.Hour + 5),
	}
}

func outcome(key, kind string, ended time.Time) bot.Outcome {
	return bot.Outcome{
		Key:          key,
		Platform:     "discord",
		Guide:        "printer",
		GuideVersion: "2.1.0",
		Kind:         kind,
		Step:         "end_" + kind,
		Tried:        []string{"fix_power", "fix_cable"},
		Path:         []string{"ask_model", "fix_power", "fix_cable", "end_" + kind},
		Started:      ended.Add(-5 * time.Minute),
		Ended:        ended,
	}
}

func noTried(o bot.Outcome) bot.Outcome {
	o.Tried = nil
	return o
}

// diffSession describes how got differs from want, or returns "". Times are
// compared with time.Equal and nil equals empty for maps and slices; every
// other field, including ones added to Session later, is compared exactly.
func diffSession(got, want *bot.Session) string {
	var diffs []string
	diffs = diffTime(diffs, "Started", got.Started, want.Started)
	diffs = diffTime(diffs, "Updated", got.Updated, want.Updated)
	diffs = diffTime(diffs, "Due", got.Due, want.Due)
	if !maps.Equal(got.Answers, want.Answers) {
		diffs = append(diffs, fmt.Sprintf("Answers = %v, want %v", got.Answers, want.Answers))
	}
	if !slices.Equal(got.History, want.History) {
		diffs = append(diffs, fmt.Sprintf("History = %+v, want %+v", got.History, want.History))
	}
	if !slices.Equal(got.Events, want.Events) {
		diffs = append(diffs, fmt.Sprintf("Events = %q, want %q", got.Events, want.Events))
	}
	switch gh, wh := got.PendingHandoff, want.PendingHandoff; {
	case (gh == nil) != (wh == nil):
		diffs = append(diffs, fmt.Sprintf("PendingHandoff = %+v, want %+v", gh, wh))
	case gh != nil:
		if !gh.Started.Equal(wh.Started) || !gh.At.Equal(wh.At) {
			diffs = append(diffs, fmt.Sprintf("PendingHandoff times = %v %v, want %v %v", gh.Started, gh.At, wh.Started, wh.At))
		}
		g, w := *gh, *wh
		g.Started, w.Started, g.At, w.At = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if g != w {
			diffs = append(diffs, fmt.Sprintf("PendingHandoff = %+v, want %+v", g, w))
		}
	}
	g, w := *got, *want
	g.PendingHandoff, w.PendingHandoff = nil, nil
	g.Started, w.Started = time.Time{}, time.Time{}
	g.Updated, w.Updated = time.Time{}, time.Time{}
	g.Due, w.Due = time.Time{}, time.Time{}
	g.Answers, w.Answers = nil, nil
	g.History, w.History = nil, nil
	g.Events, w.Events = nil, nil
	if !reflect.DeepEqual(g, w) {
		diffs = append(diffs, fmt.Sprintf("other fields = %+v, want %+v", g, w))
	}
	return joinDiffs(diffs)
}

// diffOutcome is diffSession for outcome records.
func diffOutcome(got, want bot.Outcome) string {
	var diffs []string
	diffs = diffTime(diffs, "Started", got.Started, want.Started)
	diffs = diffTime(diffs, "Ended", got.Ended, want.Ended)
	if !slices.Equal(got.Tried, want.Tried) {
		diffs = append(diffs, fmt.Sprintf("Tried = %q, want %q", got.Tried, want.Tried))
	}
	if !slices.Equal(got.Path, want.Path) {
		diffs = append(diffs, fmt.Sprintf("Path = %q, want %q", got.Path, want.Path))
	}
	g, w := got, want
	g.Started, w.Started = time.Time{}, time.Time{}
	g.Ended, w.Ended = time.Time{}, time.Time{}
	g.Tried, w.Tried = nil, nil
	g.Path, w.Path = nil, nil
	if !reflect.DeepEqual(g, w) {
		diffs = append(diffs, fmt.Sprintf("other fields = %+v, want %+v", g, w))
	}
	return joinDiffs(diffs)
}

// diffTime adds a line to diffs when got and want are different instants.
func diffTime(diffs []string, field string, got, want time.Time) []string {
	if !got.Equal(want) {
		diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, got, want))
	}
	return diffs
}

// joinDiffs is the description of diffs, or "" when there are none.
func joinDiffs(diffs []string) string {
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

func mustSave(t *testing.T, st bot.Store, s *bot.Session, outcomes ...bot.Outcome) {
	t.Helper()
	if err := st.Save(context.Background(), s, outcomes); err != nil {
		t.Fatalf("Save(%q, version %d): %v", s.Key, s.Version, err)
	}
}

func mustLoad(t *testing.T, st bot.Store, key string) *bot.Session {
	t.Helper()
	s, err := st.Load(context.Background(), key)
	if err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
	if s == nil {
		t.Fatalf("Load(%q) returned a nil session and no error", key)
	}
	return s
}

func wantNotFound(t *testing.T, st bot.Store, key string) {
	t.Helper()
	s, err := st.Load(context.Background(), key)
	if !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("Load(%q) = %+v, %v; want ErrNotFound", key, s, err)
	}
	if s != nil {
		t.Errorf("Load(%q) returned ErrNotFound with a non-nil session %+v", key, s)
	}
}

// collect returns every outcome ended at or after since, in the order the
// store yields them.
func collect(t *testing.T, st bot.Store, since time.Time) []bot.Outcome {
	t.Helper()
	var out []bot.Outcome
	if err := st.Outcomes(context.Background(), since, func(o bot.Outcome) error {
		out = append(out, o)
		return nil
	}); err != nil {
		t.Fatalf("Outcomes(since %v): %v", since, err)
	}
	return out
}
