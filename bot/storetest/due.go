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
