package report

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// endings is an observer that counts the records it is told ended.
type endings struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (e *endings) Handled(string, time.Duration, int, bool, error) {}
func (e *endings) Started(string, string)                          {}
func (e *endings) StoreOp(string, time.Duration, error)            {}
func (e *endings) Handoff(string, error)                           {}
func (e *endings) Notified(string, string, error)                  {}
func (e *endings) Ended(o bot.Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds[o.Kind]++
}

// TestEngineToReport runs ten people through the engine, the flows and the
// memory store, as the bot does, and reads the report: one person restarts
// once, one goes quiet until the sweeper expires the conversation and comes
// back hours later to finish it, one goes quiet past the timeout and comes
// back before any sweep, one stops. Ten started, nine resolved, one
// stopped, one restart, nothing expired.
func TestEngineToReport(t *testing.T) {
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := flows.NewRunner(set.Guides, "whatsapp-icloud")
	if err != nil {
		t.Fatal(err)
	}
	store := bot.NewMemoryStore()
	eng := bot.NewEngine(store, runner, bot.EngineConfig{IdleTimeout: time.Hour, NudgeAfter: -1, TurnTimeout: -1}, nil)
	obs := &endings{kinds: map[string]int{}}
	eng.SetObserver(obs)
	now := time.Now().Add(-2 * 24 * time.Hour).Truncate(time.Hour)
	eng.SetClock(func() time.Time { return now })
	ctx := context.Background()
	n := 0
	say := func(user string, texts ...string) {
		t.Helper()
		for _, text := range texts {
			n++
			now = now.Add(time.Minute)
			m := bot.Message{Address: bot.Address{Platform: "test", User: user}, ID: fmt.Sprint(n), Text: text, Time: now}
			if _, err := eng.Handle(ctx, m); err != nil {
				t.Fatalf("%s says %q: %v", user, text, err)
			}
		}
	}
	rest := []string{"fails", "1 GB", "50 GB", "yes", "17.0", "2.20", "no", "green", "yes"}
	for i := range 10 {
		user := fmt.Sprintf("u%d", i)
		say(user, "hi", "on")
		switch i {
		case 3:
			say(user, "restart", "on")
		case 5:
			now = now.Add(2 * time.Hour)
			if _, err := eng.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			now = now.Add(5 * time.Hour)
		case 6:
			now = now.Add(2 * time.Hour) // no sweep: the message finds it expired
		case 7:
			say(user, "stop")
			continue
		}
		say(user, rest...)
	}
	for name, st := range map[string]bot.Store{"tallies": store, "records": scanOnly{store}} {
		rep, err := Build(ctx, st, runner, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Guides) != 1 {
			t.Fatalf("%s: %d guides", name, len(rep.Guides))
		}
		g := rep.Guides[0]
		if want := (Totals{Started: 10, Resolved: 9, Stopped: 1, Restarted: 1}); g.Totals != want || g.Resumed != 2 {
			t.Errorf("%s: %+v, resumed %d; want %+v, 2 resumed", name, g.Totals, g.Resumed, want)
		}
		if s := g.Steps[0]; s.Step != "icloud_access" || s.Reached != 10 || s.Restarted != 0 {
			t.Errorf("%s: first step %+v; want reached by 10", name, s)
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.kinds[bot.OutcomeStarted] != 0 || obs.kinds[bot.OutcomeResumed] != 0 || obs.kinds[bot.OutcomeResolved] != 9 || obs.kinds[bot.OutcomeExpired] != 2 {
		t.Errorf("the observer was told of %v; want endings only (9 resolved, 1 stopped, 2 expired, 1 restarted)", obs.kinds)
	}
}
