package storetest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

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
	// No turn deadline: these tests queue dozens of deliveries per
	// conversation at once to check dedupe, not latency.
	engines := []*bot.Engine{bot.NewEngine(st, flow, bot.EngineConfig{TurnTimeout: -1}, nil), bot.NewEngine(st, flow, bot.EngineConfig{TurnTimeout: -1}, nil)}
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
	// No turn deadline: these tests queue dozens of deliveries per
	// conversation at once to check dedupe, not latency.
	engines := []*bot.Engine{bot.NewEngine(st, flow, bot.EngineConfig{TurnTimeout: -1}, nil), bot.NewEngine(st, flow, bot.EngineConfig{TurnTimeout: -1}, nil)}
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
