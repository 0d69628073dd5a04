package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
	if err := st.Close(); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("second Close = %v, want bot.ErrClosed", err)
	}
}
