package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
