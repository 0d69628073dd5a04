package bot

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// fullTurnSession has every reference-typed field of Session set.
func fullTurnSession() *Session {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return &Session{
		Key: "k", Guide: "g", Step: "s",
		Answers:        map[string]string{"a": "1"},
		History:        []Frame{{Step: "s0", Var: "a"}},
		Events:         []string{"e1"},
		Outbox:         []OutboxEntry{{ID: "x", Replies: []Reply{{Text: "hi", Choices: []Choice{{ID: "c", Label: "C"}}}}, Created: at}},
		PendingHandoff: &Handoff{Key: "k", Summary: "sum", At: at},
		Started:        at, Updated: at,
	}
}

// TestLoadTurnSharesNothing: the engine may change every part of the
// session loadTurn hands it (as a flow does) without touching the stored
// copy, which loadTurn also returns as the turn's base.
func TestLoadTurnSharesNothing(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	if err := m.Save(ctx, fullTurnSession(), nil); err != nil {
		t.Fatal(err)
	}
	want, err := m.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	s, base, err := m.loadTurn(ctx, "k")
	if err != nil || s == nil || base == nil {
		t.Fatalf("loadTurn = %v, %v, %v", s, base, err)
	}
	if !reflect.DeepEqual(s, want) || !reflect.DeepEqual(base, want) {
		t.Fatalf("loadTurn copy %+v / base %+v differ from Load's %+v", s, base, want)
	}
	s.Answers["a"], s.Answers["b"] = "changed", "added"
	s.History[0].Step = "changed"
	s.Events[0] = "changed"
	s.Outbox[0].Replies[0].Text = "changed"
	s.Outbox[0].Replies[0].Choices[0].Label = "changed"
	s.PendingHandoff.Summary = "changed"
	s.SetAnswer("s", "c", "3") // appends into the room loadTurn left
	s.RememberEvent("e2")
	got, err := m.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(base, want) {
		t.Errorf("changing loadTurn's copy reached the store: stored %+v, base %+v; want %+v", got, base, want)
	}
	if s, base, err := m.loadTurn(ctx, "missing"); s != nil || base != nil || err != nil {
		t.Errorf("loadTurn of a missing key = %v, %v, %v; want nil, nil, nil", s, base, err)
	}
}

// TestSaveOwnedKeepsTheSession: saveOwned is a compare-and-swap like Save;
// what a later Load hands out is a copy, and the outbox's choices (shared
// with the turn's result) are copied at the save.
func TestSaveOwnedKeepsTheSession(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	s := fullTurnSession()
	choices := s.Outbox[0].Replies[0].Choices
	if err := m.saveOwned(ctx, s, nil); err != nil || s.Version != 1 {
		t.Fatalf("saveOwned = %v, version %d; want nil, 1", err, s.Version)
	}
	choices[0].Label = "changed by the adapter"
	stale := fullTurnSession()
	if err := m.saveOwned(ctx, stale, nil); err != ErrConflict || stale.Version != 0 {
		t.Errorf("stale saveOwned = %v, version %d; want ErrConflict, 0", err, stale.Version)
	}
	got, err := m.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Outbox[0].Replies[0].Choices[0].Label; l != "C" {
		t.Errorf("stored choice label %q, want C: the outbox was not copied", l)
	}
	got.Answers["a"] = "changed"
	if again, _ := m.Load(ctx, "k"); again.Answers["a"] != "1" {
		t.Errorf("a loaded copy's change reached the store: %q", again.Answers["a"])
	}
}
