package bot

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTurnCtxDeadline: a turn's context ends with DeadlineExceeded when its
// timer fires, closing Done (made before or after), and a context derived
// from it ends too.
func TestTurnCtxDeadline(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{TurnTimeout: time.Millisecond}, nil)
	r := getRun(e, context.Background(), "k", Message{})
	ctx := &r.ctx
	if d, ok := ctx.Deadline(); !ok || !d.Equal(r.ctx.deadline) {
		t.Errorf("Deadline() = %v, %v; want the turn's", d, ok)
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	<-r.expired
	<-ctx.Done()
	<-child.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v, child %v; want DeadlineExceeded", ctx.Err(), child.Err())
	}
	// A Done asked for only after the end is closed already.
	r2 := getRun(e, context.Background(), "k", Message{})
	<-r2.expired
	<-r2.ctx.Done()
	for _, r := range []*turnRun{r, r2} {
		r.stopTimer()
		if r.timerStopped {
			t.Error("stopTimer says a timer that fired had not")
		}
	}
}

// TestTurnCtxParent: the parent's end ends the turn's context (Err at
// once, Done once asked for), and derived contexts with it.
func TestTurnCtxParent(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{TurnTimeout: time.Hour}, nil)
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	r := getRun(e, parent, "k", Message{})
	defer r.timer.Stop()
	ctx := &r.ctx
	if ctx.Value(ctxKey{}) != "v" {
		t.Error("the turn's context lost its parent's values")
	}
	child, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	done := ctx.Done()
	cancelParent()
	<-done
	<-child.Done()
	if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("Err() = %v, child %v; want Canceled", ctx.Err(), child.Err())
	}
	if ctx.reset() {
		t.Error("a context that ended was made ready for reuse")
	}
}

type ctxKey struct{}

// TestTurnCtxReuse: a run is reused only when nothing can fire on it: a
// derived context still registered, or a watcher of the parent that could
// not be stopped, keeps it out of the pool; one that was cancelled lets it
// back in, with nothing of the old turn left.
func TestTurnCtxReuse(t *testing.T) {
	e := NewEngine(NewMemoryStore(), &countingFlow{}, EngineConfig{TurnTimeout: time.Hour}, nil)
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	r := getRun(e, parent, "k", Message{Text: "x"})
	defer r.timer.Stop()
	_, cancel := context.WithCancel(&r.ctx)
	if len(r.ctx.funcs) != 1 {
		t.Fatalf("a derived context registered %d functions, want 1 (no watching goroutine)", len(r.ctx.funcs))
	}
	if r.ctx.reset() {
		t.Fatal("a context with a derived one still registered was made ready for reuse")
	}
	cancel()
	if len(r.ctx.funcs) != 0 {
		t.Fatalf("%d functions still registered after the derived context was cancelled", len(r.ctx.funcs))
	}
	if !r.ctx.reset() {
		t.Fatal("a clean context was not made ready for reuse")
	}
	if r.ctx.parent != nil || !r.ctx.deadline.IsZero() || r.ctx.stopParent != nil {
		t.Errorf("reset left the old turn's context behind: %+v", &r.ctx)
	}
	// The parent's end after the reset does not reach the reused context.
	cancelParent()
	r.ctx.parent = context.Background()
	if r.ctx.Err() != nil {
		t.Errorf("a reused context ended with its old parent: %v", r.ctx.Err())
	}
}

// TestHandleParentCanceled: Handle returns the parent's cancellation as an
// abandoned turn, not a timeout, and the engine keeps working.
func TestHandleParentCanceled(t *testing.T) {
	flow := &countingFlow{}
	e := NewEngine(NewMemoryStore(), flow, EngineConfig{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Handle(ctx, Message{Address: alice, Text: "one"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Handle with a canceled context: %v; want context.Canceled, not ErrTimeout", err)
	}
	for i := range 3 {
		res, err := e.Handle(context.Background(), Message{Address: alice, Text: "again"})
		if err != nil || len(res.Replies) == 0 {
			t.Fatalf("message %d after a canceled one: %+v, %v", i, res, err)
		}
	}
}
