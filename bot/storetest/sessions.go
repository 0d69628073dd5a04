package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
	tried, path := []string{"fix_a", "fix_b"}, []string{"ask", "fix_a", "fix_b"}
	o := outcome("copies", bot.OutcomeResolved, base)
	o.Tried, o.Path = tried, path
	mustSave(t, st, s, o)
	want.Version = 1

	// Mutating the saved session and outcome after Save must not reach the store.
	s.Answers["model"] = "changed"
	s.Answers["new"] = "added"
	s.History[0].Step = "changed"
	s.Events[0] = "changed"
	s.Step = "changed"
	tried[0], path[0] = "changed", "changed"

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
		if len(o.Path) > 0 {
			o.Path[0] = "mutated"
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
	if !slices.Equal(out[0].Path, []string{"ask", "fix_a", "fix_b"}) {
		t.Errorf("stored outcome Path = %q, want [ask fix_a fix_b]: a caller's mutation reached the store", out[0].Path)
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
