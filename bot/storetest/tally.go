package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
)

// The running counts (bot.Tallier): whatever a store keeps, Tallies must
// equal the sum of bot.TallyAdds over the records it accepted, and nothing
// of the records it refused.

// tallier returns the store as a bot.Tallier,
// skipping the test when the store is not one (keeping tallies is
// optional; a store that claims to must pass).
func tallier(t *testing.T, st bot.Store) bot.Tallier {
	t.Helper()
	tl, ok := st.(bot.Tallier)
	if !ok {
		t.Skip("the store is not a bot.Tallier")
	}
	return tl
}

// tallies is what a Tallier holds: counts per bucket.
type tallies map[bot.TallyKey]map[string]int64

// add adds TallyAdds of each record to w.
func (w tallies) add(records ...bot.Outcome) {
	for _, o := range records {
		for _, a := range bot.TallyAdds(o) {
			if w[a.Bucket] == nil {
				w[a.Bucket] = map[string]int64{}
			}
			w[a.Bucket][a.Field] += a.N
		}
	}
}

// since returns the buckets of w at or after since truncated to the hour.
func (w tallies) since(since time.Time) tallies {
	from := since.Truncate(time.Hour)
	out := tallies{}
	for k, v := range w {
		if !k.Hour.Before(from) {
			out[k] = v
		}
	}
	return out
}

// readTallies returns what tl.Tallies(since) yields, checking that buckets
// come in time order, once each, with UTC hours on the hour.
func readTallies(t *testing.T, tl bot.Tallier, since time.Time) tallies {
	t.Helper()
	got := tallies{}
	var last time.Time
	err := tl.Tallies(context.Background(), since, func(k bot.TallyKey, counts map[string]int64) error {
		if k.Hour.Before(last) {
			t.Errorf("Tallies yielded hour %v after %v: want time order", k.Hour, last)
		}
		last = k.Hour
		if k.Hour.Location() != time.UTC || !k.Hour.Equal(k.Hour.Truncate(time.Hour)) {
			t.Errorf("Tallies yielded bucket hour %v: want a UTC time on the hour", k.Hour)
		}
		if _, dup := got[k]; dup {
			t.Errorf("Tallies yielded bucket %v twice", k)
		}
		got[k] = maps.Clone(counts) // fn must not keep the map
		return nil
	})
	if err != nil {
		t.Fatalf("Tallies(since %v): %v", since, err)
	}
	return got
}

// diffTallies describes how got differs from want, or returns "". A zero
// count equals a missing one, and an empty bucket a missing bucket.
func diffTallies(got, want tallies) string {
	var diffs []string
	keys := map[bot.TallyKey]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	for k := range keys {
		fields := map[string]bool{}
		for f := range got[k] {
			fields[f] = true
		}
		for f := range want[k] {
			fields[f] = true
		}
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			if g, w := got[k][f], want[k][f]; g != w {
				diffs = append(diffs, fmt.Sprintf("%s %q = %d, want %d", k, f, g, w))
			}
		}
	}
	slices.Sort(diffs)
	return joinDiffs(diffs)
}

// tallyRecord is a record of every kind's shape: steps on its path, a
// guide, and an end (or start) at the given time.
func tallyRecord(key, guide, kind string, at time.Time) bot.Outcome {
	o := outcome(key, kind, at)
	o.Guide = guide
	o.Path = []string{"intro", "ask_model", o.Step}
	if kind == bot.OutcomeStarted {
		o.Started, o.Ended, o.Path, o.Tried = at, at, nil, nil
	}
	return o
}

func testTalliesSum(t *testing.T, st bot.Store) {
	tl := tallier(t, st)
	h := base.Truncate(time.Hour)
	want := tallies{}
	saves := [][]bot.Outcome{
		{tallyRecord("a", "printer", bot.OutcomeStarted, h.Add(time.Minute))},
		{tallyRecord("a", "printer", bot.OutcomeResolved, h.Add(20*time.Minute)), tallyRecord("b", "printer", bot.OutcomeStarted, h.Add(21*time.Minute))},
		nil,
		{tallyRecord("b", "printer", bot.OutcomeRestarted, h.Add(59*time.Minute+59*time.Second))},
		{tallyRecord("c", "wifi", bot.OutcomeEscalated, h.Add(time.Hour))},
		{tallyRecord("d", "wifi", bot.OutcomeStopped, h.Add(3*time.Hour)), tallyRecord("e", "wifi", bot.OutcomeExpired, h.Add(3*time.Hour+time.Second))},
		{tallyRecord("f", "", bot.OutcomeResolved, h.Add(2*time.Hour))}, // no guide: counts nothing
		{tallyRecord("g", "printer", bot.OutcomeResolved, h.Add(-25*time.Hour))},
	}
	for i, outs := range saves {
		mustSave(t, st, fullSession(fmt.Sprintf("tally-%d", i)), outs...)
		want.add(outs...)
		if d := diffTallies(readTallies(t, tl, time.Time{}), want); d != "" {
			t.Fatalf("after save %d, tallies differ from the sum of TallyAdds: %s", i, d)
		}
	}
	if len(want) != 4 {
		t.Fatalf("test data makes %d buckets, want 4", len(want))
	}
	// A second save of the same session adds again: counts are per record.
	s := mustLoad(t, st, "tally-0")
	again := tallyRecord("a", "printer", bot.OutcomeStopped, h.Add(30*time.Minute))
	mustSave(t, st, s, again)
	want.add(again)
	if d := diffTallies(readTallies(t, tl, time.Time{}), want); d != "" {
		t.Fatalf("after a second save of one session: %s", d)
	}
}

func testTalliesSince(t *testing.T, st bot.Store) {
	tl := tallier(t, st)
	h := base.Truncate(time.Hour)
	want := tallies{}
	for i, at := range []time.Time{h.Add(-time.Hour), h.Add(time.Second), h.Add(59 * time.Minute), h.Add(time.Hour), h.Add(5*time.Hour + 30*time.Minute)} {
		for _, guide := range []string{"wifi", "printer"} {
			o := tallyRecord(fmt.Sprintf("k%d", i), guide, bot.OutcomeResolved, at)
			mustSave(t, st, fullSession(fmt.Sprintf("since-%d-%s", i, guide)), o)
			want.add(o)
		}
	}
	for _, since := range []time.Time{
		{},
		h.Add(-time.Hour),
		h.Add(-1), // the hour before h
		h,
		h.Add(30 * time.Minute), // within h: h's bucket counts
		h.Add(time.Hour - 1),
		h.Add(time.Hour).In(time.UTC),
		h.Add(time.Hour + 1),
		h.Add(5 * time.Hour),
		h.Add(6 * time.Hour), // nothing that late
	} {
		exp := want.since(since)
		got := readTallies(t, tl, since)
		if d := diffTallies(got, exp); d != "" {
			t.Errorf("Tallies(since %v): %s", since, d)
		}
		if len(got) != len(exp) {
			t.Errorf("Tallies(since %v) yielded %d buckets, want %d", since, len(got), len(exp))
		}
	}
}

func testTalliesStop(t *testing.T, st bot.Store) {
	tl := tallier(t, st)
	h := base.Truncate(time.Hour)
	for i := range 3 {
		mustSave(t, st, fullSession(fmt.Sprintf("s%d", i)), tallyRecord("s", "printer", bot.OutcomeResolved, h.Add(time.Duration(i)*time.Hour)))
	}
	stop := errors.New("stop here")
	var seen []time.Time
	err := tl.Tallies(context.Background(), time.Time{}, func(k bot.TallyKey, _ map[string]int64) error {
		seen = append(seen, k.Hour)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Tallies returned %v, want the callback's error", err)
	}
	if len(seen) != 2 || !seen[0].Equal(h) || !seen[1].Equal(h.Add(time.Hour)) {
		t.Fatalf("callback saw hours %v, want [%v %v] and no call after the error", seen, h, h.Add(time.Hour))
	}
}

// testTalliesConflict: a save refused by the compare-and-swap, or by a
// canceled context, adds nothing.
func testTalliesConflict(t *testing.T, st bot.Store) {
	tl := tallier(t, st)
	h := base.Truncate(time.Hour)
	first := tallyRecord("c", "printer", bot.OutcomeStarted, h)
	s := fullSession("conflict")
	mustSave(t, st, s, first)
	want := tallies{}
	want.add(first)

	stale := fullSession("conflict") // version 0: the key exists
	if err := st.Save(context.Background(), stale, []bot.Outcome{tallyRecord("c", "printer", bot.OutcomeResolved, h)}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("stale Save = %v, want ErrConflict", err)
	}
	s.Version += 5
	if err := st.Save(context.Background(), s, []bot.Outcome{tallyRecord("c", "printer", bot.OutcomeStopped, h)}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Save with a version ahead = %v, want ErrConflict", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Save(ctx, fullSession("canceled"), []bot.Outcome{tallyRecord("x", "printer", bot.OutcomeEscalated, h)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Save with a canceled context = %v, want context.Canceled", err)
	}
	if d := diffTallies(readTallies(t, tl, time.Time{}), want); d != "" {
		t.Fatalf("refused saves changed the tallies: %s", d)
	}
}

// testTalliesConcurrent has goroutines race on shared sessions (retrying on
// conflict, each success carrying records) and on their own: the tallies
// are the sum over the saves that succeeded, and agree with the records.
func testTalliesConcurrent(t *testing.T, st bot.Store) {
	tl := tallier(t, st)
	h := base.Truncate(time.Hour)
	const workers, rounds = 8, 15
	var (
		mu   sync.Mutex
		want = tallies{}
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			for r := range rounds {
				key := fmt.Sprintf("shared-%d", r%2)
				if r%3 == 0 {
					key = fmt.Sprintf("own-%d", w)
				}
				kind := []string{bot.OutcomeStarted, bot.OutcomeResolved, bot.OutcomeEscalated, bot.OutcomeStopped, bot.OutcomeExpired, bot.OutcomeRestarted}[(w+r)%6]
				o := tallyRecord(key, fmt.Sprintf("guide-%d", w%3), kind, h.Add(time.Duration(r%4)*time.Hour+time.Duration(w)*time.Minute))
				for {
					s, err := st.Load(ctx, key)
					switch {
					case errors.Is(err, bot.ErrNotFound):
						s = &bot.Session{Key: key}
					case err != nil:
						t.Errorf("Load(%q): %v", key, err)
						return
					}
					err = st.Save(ctx, s, []bot.Outcome{o})
					if errors.Is(err, bot.ErrConflict) {
						continue
					}
					if err != nil {
						t.Errorf("Save(%q): %v", key, err)
						return
					}
					mu.Lock()
					want.add(o)
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	if d := diffTallies(readTallies(t, tl, time.Time{}), want); d != "" {
		t.Fatalf("after concurrent saves, tallies differ from the sum of TallyAdds of the saved records: %s", d)
	}
	fromRecords := tallies{}
	fromRecords.add(collect(t, st, time.Time{})...)
	if d := diffTallies(readTallies(t, tl, time.Time{}), fromRecords); d != "" {
		t.Fatalf("tallies differ from the sum of TallyAdds of the records the store lists: %s", d)
	}
}

// testTalliesCanceledClosed: Tallies fails, calling nothing, with a done
// context and after Close.
func testTalliesCanceledClosed(t *testing.T, st bot.Store) {
	tl := tallier(t, st)
	mustSave(t, st, fullSession("present"), tallyRecord("present", "printer", bot.OutcomeResolved, base))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if err := tl.Tallies(ctx, time.Time{}, func(bot.TallyKey, map[string]int64) error { called = true; return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Tallies with a canceled context = %v, want context.Canceled", err)
	}
	if called {
		t.Error("Tallies with a canceled context called fn")
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := tl.Tallies(context.Background(), time.Time{}, func(bot.TallyKey, map[string]int64) error { called = true; return nil }); err == nil {
		t.Error("Tallies after Close = nil, want an error")
	}
	if called {
		t.Error("Tallies after Close called fn")
	}
}
