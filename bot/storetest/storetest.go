// Package storetest is the conformance suite for bot.Store implementations.
// Every implementation's tests call Run:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) bot.Store { return open(t) })
//	}
//
// The suite checks the contract written on bot.Store: Load/Save/Delete
// semantics, compare-and-swap on Session.Version, copy isolation, outcome
// ordering and filtering, absence of lost updates under concurrency,
// context cancellation and Close.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// Run runs the conformance suite as subtests of t. open is called once per
// subtest and must return a new, empty, open store; the suite closes it
// (and reports an error from that Close) when the subtest ends, so open must
// not register its own Close. open may call t.Fatal.
//
// A store must return an error from Load, Save, Delete and Outcomes when
// the context is already canceled (checking ctx.Err() on entry is enough),
// and Save must then store nothing.
func Run(t *testing.T, open func(t *testing.T) bot.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s bot.Store)
	}{
		{"LoadMissing", testLoadMissing},
		{"SaveLoadRoundTrip", testRoundTrip},
		{"SaveStaleVersion", testStaleVersion},
		{"SaveNewOverExisting", testNewOverExisting},
		{"SaveVersionOnMissingKey", testVersionOnMissing},
		{"CopiesAreIndependent", testCopies},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"Outcomes", testOutcomes},
		{"OutcomesStopOnError", testOutcomesStop},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"ParallelDistinctKeys", testParallelDistinctKeys},
		{"CanceledContext", testCanceled},
		{"EngineTurnsOnOneConversation", testEngineTurns},
		{"ReplayFiveTimes", testReplay},
		{"DueIndex", testDue},
		{"DueStopOnError", testDueStop},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, openStore(t, open))
		})
	}
}

// closeTracker wraps a store so the cleanup knows whether the test already
// closed it.
type closeTracker struct {
	bot.Store
	mu     sync.Mutex
	closed bool
}

func (c *closeTracker) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Store.Close()
}

func openStore(t *testing.T, open func(t *testing.T) bot.Store) bot.Store {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	c := &closeTracker{Store: s}
	t.Cleanup(func() {
		c.mu.Lock()
		done := c.closed
		c.mu.Unlock()
		if !done {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return c
}

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
	if !got.Started.Equal(want.Started) {
		diffs = append(diffs, fmt.Sprintf("Started = %v, want %v", got.Started, want.Started))
	}
	if !got.Updated.Equal(want.Updated) {
		diffs = append(diffs, fmt.Sprintf("Updated = %v, want %v", got.Updated, want.Updated))
	}
	if !got.Due.Equal(want.Due) {
		diffs = append(diffs, fmt.Sprintf("Due = %v, want %v", got.Due, want.Due))
	}
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
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

// diffOutcome is diffSession for outcome records.
func diffOutcome(got, want bot.Outcome) string {
	var diffs []string
	if !got.Started.Equal(want.Started) {
		diffs = append(diffs, fmt.Sprintf("Started = %v, want %v", got.Started, want.Started))
	}
	if !got.Ended.Equal(want.Ended) {
		diffs = append(diffs, fmt.Sprintf("Ended = %v, want %v", got.Ended, want.Ended))
	}
	if !slices.Equal(got.Tried, want.Tried) {
		diffs = append(diffs, fmt.Sprintf("Tried = %q, want %q", got.Tried, want.Tried))
	}
	g, w := got, want
	g.Started, w.Started = time.Time{}, time.Time{}
	g.Ended, w.Ended = time.Time{}, time.Time{}
	g.Tried, w.Tried = nil, nil
	if !reflect.DeepEqual(g, w) {
		diffs = append(diffs, fmt.Sprintf("other fields = %+v, want %+v", g, w))
	}
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

func testLoadMissing(t *testing.T, st bot.Store) {
	wantNotFound(t, st, "no/such/key")
}

func testRoundTrip(t *testing.T, st bot.Store) {
	s := fullSession("slack/T01/C%2F02%25/1700000000.000100/U03")
	want := fullSession(s.Key)
	mustSave(t, st, s)
	if s.Version != 1 {
		t.Fatalf("after first Save, Version = %d, want 1", s.Version)
	}
	want.Version = 1
	got := mustLoad(t, st, s.Key)
	if d := diffSession(got, want); d != "" {
		t.Fatalf("loaded session differs from saved: %s", d)
	}

	// A second save from the loaded copy advances the version and replaces
	// every field, including clearing ones.
	got.Step = "ask_power"
	got.Answers = map[string]string{"power": "on"}
	got.History = got.History[:1]
	got.Events = append(got.Events, "ev-4")
	got.Done = false
	got.Outcome = ""
	got.Updated = got.Updated.Add(time.Hour)
	mustSave(t, st, got)
	if got.Version != 2 {
		t.Fatalf("after second Save, Version = %d, want 2", got.Version)
	}
	again := mustLoad(t, st, s.Key)
	if d := diffSession(again, got); d != "" {
		t.Fatalf("session after second Save differs: %s", d)
	}
}

func testStaleVersion(t *testing.T, st bot.Store) {
	ctx := context.Background()
	s := fullSession("stale")
	s.Done, s.Outcome = false, ""
	mustSave(t, st, s) // version 1
	a := mustLoad(t, st, s.Key)
	b := mustLoad(t, st, s.Key)

	a.Step = "winner"
	mustSave(t, st, a) // version 2

	b.Step = "loser"
	b.Done, b.Outcome = true, bot.OutcomeStopped
	lost := outcome(b.Key, bot.OutcomeStopped, base.Add(time.Hour))
	err := st.Save(ctx, b, []bot.Outcome{lost})
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Save with stale version 1 over version 2 = %v, want ErrConflict", err)
	}
	if b.Version != 1 {
		t.Errorf("failed Save changed Version to %d, want 1", b.Version)
	}
	got := mustLoad(t, st, s.Key)
	if got.Step != "winner" || got.Version != 2 || got.Done {
		t.Errorf("after conflicting Save, stored Step %q Version %d Done %v; want winner, 2, false",
			got.Step, got.Version, got.Done)
	}
	if out := collect(t, st, time.Time{}); len(out) != 0 {
		t.Errorf("conflicting Save stored its outcomes: %+v", out)
	}

	// A version from the future conflicts too.
	b.Version = 7
	if err := st.Save(ctx, b, nil); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("Save with version 7 over version 2 = %v, want ErrConflict", err)
	}
	if b.Version != 7 {
		t.Errorf("failed Save changed Version to %d, want 7", b.Version)
	}
	if got := mustLoad(t, st, s.Key); got.Version != 2 || got.Step != "winner" {
		t.Errorf("after second conflicting Save, stored Step %q Version %d; want winner, 2", got.Step, got.Version)
	}
}

func testNewOverExisting(t *testing.T, st bot.Store) {
	first := fullSession("dup")
	first.Step = "first"
	mustSave(t, st, first)

	second := fullSession("dup")
	second.Step = "second"
	err := st.Save(context.Background(), second, []bot.Outcome{outcome("dup", bot.OutcomeExpired, base)})
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Save with Version 0 over an existing key = %v, want ErrConflict", err)
	}
	if second.Version != 0 {
		t.Errorf("failed Save changed Version to %d, want 0", second.Version)
	}
	if got := mustLoad(t, st, "dup"); got.Step != "first" || got.Version != 1 {
		t.Errorf("stored Step %q Version %d, want first, 1", got.Step, got.Version)
	}
	if out := collect(t, st, time.Time{}); len(out) != 0 {
		t.Errorf("conflicting Save stored its outcomes: %+v", out)
	}
}

func testVersionOnMissing(t *testing.T, st bot.Store) {
	s := fullSession("ghost")
	s.Version = 3
	if err := st.Save(context.Background(), s, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Save with Version 3 on a missing key = %v, want ErrConflict", err)
	}
	if s.Version != 3 {
		t.Errorf("failed Save changed Version to %d, want 3", s.Version)
	}
	wantNotFound(t, st, "ghost")
}

func testCopies(t *testing.T, st bot.Store) {
	s := fullSession("copies")
	want := fullSession("copies")
	tried := []string{"fix_a", "fix_b"}
	o := outcome("copies", bot.OutcomeResolved, base)
	o.Tried = tried
	mustSave(t, st, s, o)
	want.Version = 1

	// Mutating the saved session and outcome after Save must not reach the store.
	s.Answers["model"] = "changed"
	s.Answers["new"] = "added"
	s.History[0].Step = "changed"
	s.Events[0] = "changed"
	s.Step = "changed"
	tried[0] = "changed"

	got := mustLoad(t, st, "copies")
	if d := diffSession(got, want); d != "" {
		t.Fatalf("mutating the session after Save changed the store: %s", d)
	}

	// Mutating a loaded copy must not reach the store either.
	got.Answers["model"] = "mutated"
	delete(got.Answers, "os")
	got.History[1].Var = "mutated"
	got.Events[1] = "mutated"
	got.Address.User = "mutated"
	if d := diffSession(mustLoad(t, st, "copies"), want); d != "" {
		t.Fatalf("mutating a loaded session changed the store: %s", d)
	}

	// Nor a record handed to an Outcomes callback.
	if err := st.Outcomes(context.Background(), time.Time{}, func(o bot.Outcome) error {
		if len(o.Tried) > 0 {
			o.Tried[0] = "mutated"
		}
		return nil
	}); err != nil {
		t.Fatalf("Outcomes: %v", err)
	}
	out := collect(t, st, time.Time{})
	if len(out) != 1 {
		t.Fatalf("Outcomes returned %d records, want 1", len(out))
	}
	if !slices.Equal(out[0].Tried, []string{"fix_a", "fix_b"}) {
		t.Errorf("stored outcome Tried = %q, want [fix_a fix_b]: a caller's mutation reached the store", out[0].Tried)
	}
}

func testDelete(t *testing.T, st bot.Store) {
	ctx := context.Background()
	s := fullSession("gone")
	mustSave(t, st, s, outcome("gone", bot.OutcomeResolved, base))
	other := fullSession("kept")
	mustSave(t, st, other)

	if err := st.Delete(ctx, "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, st, "gone")
	if got := mustLoad(t, st, "kept"); got.Version != 1 {
		t.Errorf("Delete of another key changed %q: Version %d", got.Key, got.Version)
	}
	// Outcome records are history, not session state: Delete keeps them.
	if out := collect(t, st, time.Time{}); len(out) != 1 || out[0].Key != "gone" {
		t.Errorf("after Delete, Outcomes = %+v; want the one record saved with the session", out)
	}
	// The key is free again: a new session (Version 0) saves.
	fresh := fullSession("gone")
	if err := st.Save(ctx, fresh, nil); err != nil {
		t.Fatalf("Save with Version 0 after Delete: %v", err)
	}
	if fresh.Version != 1 {
		t.Errorf("Version after re-creating a deleted key = %d, want 1", fresh.Version)
	}
}

func testDeleteMissing(t *testing.T, st bot.Store) {
	if err := st.Delete(context.Background(), "never/saved"); err != nil {
		t.Fatalf("Delete of a missing key = %v, want nil", err)
	}
	wantNotFound(t, st, "never/saved")
}

func testOutcomes(t *testing.T, st bot.Store) {
	// Saved out of Ended order, several per Save, some Saves with none.
	t1, t2, t3, t4, t5 := base.Add(1*time.Minute), base.Add(2*time.Minute), base.Add(3*time.Minute),
		base.Add(4*time.Minute+1), base.Add(5*time.Minute)
	records := map[string]bot.Outcome{}
	saves := [][]bot.Outcome{
		{outcome("k3", bot.OutcomeEscalated, t3)},
		nil,
		{outcome("k1", bot.OutcomeResolved, t1), outcome("k5", bot.OutcomeExpired, t5)},
		{outcome("k4", bot.OutcomeStopped, t4.In(time.UTC))},
		{noTried(outcome("k2", bot.OutcomeRestarted, t2))}, // nil Tried round-trips too
	}
	for i, outs := range saves {
		for _, o := range outs {
			records[o.Key] = o
		}
		mustSave(t, st, fullSession(fmt.Sprintf("session-%d", i)), outs...)
	}

	check := func(since time.Time, want ...string) {
		t.Helper()
		got := collect(t, st, since)
		var keys []string
		for _, o := range got {
			keys = append(keys, o.Key)
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("Outcomes(since %v) keys = %q, want %q", since, keys, want)
		}
		for _, o := range got {
			if d := diffOutcome(o, records[o.Key]); d != "" {
				t.Errorf("outcome %q differs: %s", o.Key, d)
			}
		}
	}
	check(time.Time{}, "k1", "k2", "k3", "k4", "k5")
	check(t3, "k3", "k4", "k5")                // since is inclusive
	check(t3.Add(1), "k4", "k5")               // one nanosecond later excludes it
	check(t4.Add(-1).In(time.UTC), "k4", "k5") // zone does not matter
	check(t5.Add(time.Nanosecond))             // nothing that late
	check(base.Add(-24*time.Hour), "k1", "k2", "k3", "k4", "k5")
}

func testOutcomesStop(t *testing.T, st bot.Store) {
	for i := range 3 {
		mustSave(t, st, fullSession(fmt.Sprintf("s%d", i)), outcome(fmt.Sprintf("s%d", i), bot.OutcomeResolved, base.Add(time.Duration(i)*time.Second)))
	}
	stop := errors.New("stop here")
	var seen []string
	err := st.Outcomes(context.Background(), time.Time{}, func(o bot.Outcome) error {
		seen = append(seen, o.Key)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Outcomes returned %v, want the callback's error", err)
	}
	if !slices.Equal(seen, []string{"s0", "s1"}) {
		t.Fatalf("callback saw %q, want [s0 s1] and no call after the error", seen)
	}
}

func testConcurrentIncrements(t *testing.T, st bot.Store) {
	const (
		workers = 8
		perWork = 50
		key     = "counter"
	)
	ctx := context.Background()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWork; i++ {
				for attempt := 0; ; attempt++ {
					if attempt > 10000 {
						t.Errorf("worker %d: no progress after %d conflicts", w, attempt)
						return
					}
					s, err := st.Load(ctx, key)
					if errors.Is(err, bot.ErrNotFound) {
						s = &bot.Session{Key: key, Started: base}
					} else if err != nil {
						t.Errorf("worker %d: Load: %v", w, err)
						return
					}
					n, _ := strconv.Atoi(s.Answers["count"])
					s.SetAnswer("count", "count", strconv.Itoa(n+1))
					s.History = nil // keep the record small
					err = st.Save(ctx, s, nil)
					if errors.Is(err, bot.ErrConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("worker %d: Save: %v", w, err)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	got := mustLoad(t, st, key)
	if got.Answers["count"] != strconv.Itoa(workers*perWork) {
		t.Errorf("count = %q after %d increments: updates were lost", got.Answers["count"], workers*perWork)
	}
	if got.Version != workers*perWork {
		t.Errorf("Version = %d after %d successful Saves, want %d", got.Version, workers*perWork, workers*perWork)
	}
	t.Logf("%d conflicts retried", conflicts)
}

func testParallelDistinctKeys(t *testing.T, st bot.Store) {
	const (
		workers = 16
		saves   = 20
	)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("parallel/%d", w)
			s := &bot.Session{Key: key, Started: base}
			for i := 1; i <= saves; i++ {
				s.Step = strconv.Itoa(i)
				var outs []bot.Outcome
				if i == saves {
					outs = []bot.Outcome{outcome(key, bot.OutcomeResolved, base.Add(time.Duration(w)*time.Second))}
				}
				if err := st.Save(ctx, s, outs); err != nil {
					t.Errorf("Save(%q) #%d: %v", key, i, err)
					return
				}
				if s.Version != uint64(i) {
					t.Errorf("Save(%q) #%d: Version = %d", key, i, s.Version)
					return
				}
				// Alternate saving the same value and a freshly loaded copy.
				if i%2 == 0 {
					l, err := st.Load(ctx, key)
					if err != nil {
						t.Errorf("Load(%q): %v", key, err)
						return
					}
					s = l
				}
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		key := fmt.Sprintf("parallel/%d", w)
		got := mustLoad(t, st, key)
		if got.Step != strconv.Itoa(saves) || got.Version != saves {
			t.Errorf("%q: Step %q Version %d, want %d, %d", key, got.Step, got.Version, saves, saves)
		}
	}
	out := collect(t, st, time.Time{})
	if len(out) != workers {
		t.Fatalf("Outcomes returned %d records, want %d", len(out), workers)
	}
	for i, o := range out {
		if want := fmt.Sprintf("parallel/%d", i); o.Key != want {
			t.Errorf("outcome %d is %q, want %q", i, o.Key, want)
		}
	}
}

func testCanceled(t *testing.T, st bot.Store) {
	mustSave(t, st, fullSession("present"), outcome("present", bot.OutcomeResolved, base))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if s, err := st.Load(ctx, "present"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with canceled context = %+v, %v; want context.Canceled", s, err)
	}
	s := fullSession("new")
	if err := st.Save(ctx, s, []bot.Outcome{outcome("new", bot.OutcomeStopped, base)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with canceled context = %v, want context.Canceled", err)
	}
	if s.Version != 0 {
		t.Errorf("failed Save changed Version to %d, want 0", s.Version)
	}
	wantNotFound(t, st, "new")
	if out := collect(t, st, time.Time{}); len(out) != 1 {
		t.Errorf("Save with canceled context stored outcomes: %+v", out)
	}
	if err := st.Delete(ctx, "present"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with canceled context = %v, want context.Canceled", err)
	}
	mustLoad(t, st, "present")
	called := false
	err := st.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Outcomes with canceled context = %v, want context.Canceled", err)
	}
	if called {
		t.Errorf("Outcomes with canceled context called fn")
	}
}

// dueKeys lists the keys st.Due reports at now.
func dueKeys(t *testing.T, st bot.Store, now time.Time) []string {
	t.Helper()
	var keys []string
	if err := st.Due(context.Background(), now, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatalf("Due: %v", err)
	}
	return keys
}

func testDue(t *testing.T, st bot.Store) {
	ctx := context.Background()
	at := func(key string, due time.Time) *bot.Session {
		s := &bot.Session{Key: key, Address: bot.Address{Platform: "console", User: key}, Started: base, Updated: base, Due: due}
		mustSave(t, st, s)
		return s
	}
	at("late", base.Add(3*time.Hour))
	early := at("early", base.Add(time.Hour))
	at("none", time.Time{})
	middle := at("middle/ü %", base.Add(2*time.Hour))
	if got := dueKeys(t, st, base); len(got) != 0 {
		t.Errorf("Due(before any) = %q, want none", got)
	}
	if got, want := dueKeys(t, st, base.Add(2*time.Hour)), []string{"early", "middle/ü %"}; !slices.Equal(got, want) {
		t.Errorf("Due(+2h) = %q, want %q (earliest first, due exactly now included)", got, want)
	}
	// Moving a timer later takes the old entry away; clearing it and
	// deleting the session take it off the list.
	early.Due = base.Add(4 * time.Hour)
	mustSave(t, st, early)
	middle.Due = time.Time{}
	mustSave(t, st, middle)
	if err := st.Delete(ctx, "late"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, want := dueKeys(t, st, base.Add(5*time.Hour)), []string{"early"}; !slices.Equal(got, want) {
		t.Errorf("Due(+5h) after moves = %q, want %q", got, want)
	}
	// A failed compare-and-swap leaves the index alone.
	stale := *early
	stale.Version--
	stale.Due = base
	if err := st.Save(ctx, &stale, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("stale Save = %v, want ErrConflict", err)
	}
	if got := dueKeys(t, st, base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("Due(+1h) after a refused save = %q, want none", got)
	}
	// Many entries page through.
	for i := range 600 {
		at(fmt.Sprintf("bulk-%03d", i), base.Add(time.Duration(i)*time.Millisecond))
	}
	if got := dueKeys(t, st, base.Add(time.Hour)); len(got) != 600 || got[0] != "bulk-000" || got[599] != "bulk-599" {
		t.Errorf("Due over 600 entries = %d keys (first %q), want 600 in due order", len(got), got[:min(len(got), 1)])
	}
	// fn may use the store, as a sweep does: clearing each timer while
	// the listing runs must not make it skip keys. (Found in review: the
	// Redis listing paged by offset and skipped one key per page.)
	var listed []string
	err := st.Due(ctx, base.Add(time.Hour), func(k string) error {
		listed = append(listed, k)
		s, err := st.Load(ctx, k)
		if err != nil {
			return err
		}
		s.Due = time.Time{}
		return st.Save(ctx, s, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 600 {
		t.Errorf("Due listed %d of 600 due keys while fn cleared them", len(listed))
	}
	if got := dueKeys(t, st, base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("%d keys still due after clearing them all", len(got))
	}
}

func testDueStop(t *testing.T, st bot.Store) {
	for _, k := range []string{"a", "b", "c"} {
		mustSave(t, st, &bot.Session{Key: k, Started: base, Updated: base, Due: base})
	}
	stop := errors.New("stop")
	n := 0
	err := st.Due(context.Background(), base, func(string) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Due with failing fn = %v after %d calls, want the fn's error after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Due(ctx, base, func(string) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Due with canceled context = %v, want context.Canceled", err)
	}
}

func testClose(t *testing.T, st bot.Store) {
	ctx := context.Background()
	s := fullSession("closing")
	mustSave(t, st, s)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, err := st.Load(ctx, "closing"); err == nil {
		t.Errorf("Load after Close = %+v, nil; want an error", got)
	}
	if err := st.Save(ctx, s, nil); err == nil {
		t.Errorf("Save after Close = nil, want an error")
	}
	if s.Version != 1 {
		t.Errorf("Save after Close changed Version to %d, want 1", s.Version)
	}
	if err := st.Delete(ctx, "closing"); err == nil {
		t.Errorf("Delete after Close = nil, want an error")
	}
	if err := st.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { return nil }); err == nil {
		t.Errorf("Outcomes after Close = nil, want an error")
	}
}

// counterFlow is a minimal bot.Flow: every message adds one to a counter
// answer and records how many turns of the conversation ran at once.
type counterFlow struct {
	mu                sync.Mutex
	inFlight, maxSeen int
}

func (f *counterFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	s.Guide, s.Step = "g", "count"
	n, _ := strconv.Atoi(s.Answers["count"])
	s.SetAnswer("count", "count", strconv.Itoa(n+1))
	return bot.Turn{Replies: []bot.Reply{{Text: strconv.Itoa(n + 1)}}}, nil
}

func (f *counterFlow) Current(*bot.Session) ([]bot.Reply, error) { return nil, nil }

func (f *counterFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Kind: kind, Ended: at}
}

// testEngineTurns sends 50 messages of one conversation at once through
// two engines sharing the store, each message also redelivered once: the
// final count equals a sequential run's (no lost update), every event is
// answered exactly once, and, on one engine, turns never overlap.
func testEngineTurns(t *testing.T, st bot.Store) {
	flow := &counterFlow{}
	engines := []*bot.Engine{bot.NewEngine(st, flow, bot.EngineConfig{}, nil), bot.NewEngine(st, flow, bot.EngineConfig{}, nil)}
	addr := bot.Address{Platform: "storetest", User: "racer"}
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := map[string]int{}
	for i := range n {
		for d := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := "ev" + strconv.Itoa(i)
				res, err := engines[(i+d)%2].Handle(context.Background(), bot.Message{Address: addr, ID: id, Text: "x"})
				if err != nil {
					t.Error(err)
					return
				}
				if !res.Duplicate {
					mu.Lock()
					answered[id]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	s, err := st.Load(context.Background(), addr.Key())
	if err != nil {
		t.Fatal(err)
	}
	if s.Answers["count"] != strconv.Itoa(n) {
		t.Errorf("count %s after %d distinct events; want %d (lost or doubled updates)", s.Answers["count"], n, n)
	}
	for i := range n {
		if c := answered["ev"+strconv.Itoa(i)]; c != 1 {
			t.Errorf("event ev%d answered %d times", i, c)
		}
	}
	t.Logf("%d events × 2 deliveries over 2 engines: %d answered, count %s", n, len(answered), s.Answers["count"])
}

// testReplay delivers 1,000 events (100 conversations × 10 messages), each
// five times at once, through two engines sharing the store, as a platform
// retrying at-least-once delivery would: exactly 1,000 replies, and every
// conversation counts each of its events once.
func testReplay(t *testing.T, st bot.Store) {
	flow := &counterFlow{}
	engines := []*bot.Engine{bot.NewEngine(st, flow, bot.EngineConfig{}, nil), bot.NewEngine(st, flow, bot.EngineConfig{}, nil)}
	const conversations, perConversation, deliveries = 100, 10, 5
	var wg sync.WaitGroup
	var replies, duplicates atomic.Int64
	start := time.Now()
	for c := range conversations {
		addr := bot.Address{Platform: "storetest", User: "replay" + strconv.Itoa(c)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every delivery of every event of the conversation races
			// every other: the harshest order a retrying platform can
			// produce.
			var inner sync.WaitGroup
			for i := range perConversation {
				id := addr.User + "-ev" + strconv.Itoa(i)
				for d := range deliveries {
					inner.Add(1)
					go func() {
						defer inner.Done()
						res, err := engines[(i+d)%2].Handle(context.Background(), bot.Message{Address: addr, ID: id, Text: "x"})
						if err != nil {
							t.Error(err)
							return
						}
						if res.Duplicate {
							duplicates.Add(1)
						} else {
							replies.Add(int64(len(res.Replies)))
						}
					}()
				}
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	for c := range conversations {
		s, err := st.Load(context.Background(), bot.Address{Platform: "storetest", User: "replay" + strconv.Itoa(c)}.Key())
		if err != nil {
			t.Fatal(err)
		}
		if s.Answers["count"] != strconv.Itoa(perConversation) {
			t.Errorf("conversation %d counted %s events, want %d", c, s.Answers["count"], perConversation)
		}
	}
	const events = conversations * perConversation
	if replies.Load() != events {
		t.Errorf("%d replies to %d events delivered %d times each, want exactly %d", replies.Load(), events, deliveries, events)
	}
	t.Logf("replay: %d events × %d deliveries over 2 engines: %d replies, %d duplicates recognised, in %v",
		events, deliveries, replies.Load(), duplicates.Load(), time.Since(start).Round(time.Millisecond))
}
