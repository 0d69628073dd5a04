package bot

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// stepFlow is the cheapest flow that still moves a conversation: it
// alternates between two steps, with fixed replies, and allocates nothing
// itself, so that a benchmark over it measures the engine's own share of a
// message (queue, turn goroutine and deadline, load, save, observer).
type stepFlow struct{}

var stepReplies = []Reply{{Text: "Which one?", Choices: []Choice{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}}}}

func (stepFlow) Respond(s *Session, m Message) (Turn, error) {
	if s.Guide == "" {
		s.Guide, s.GuideVersion = "g", "1"
	}
	if s.Step == "one" {
		s.Step = "two"
	} else {
		s.Step = "one"
	}
	return Turn{Replies: stepReplies}, nil
}

func (stepFlow) Current(*Session) ([]Reply, error) { return stepReplies, nil }

func (stepFlow) Outcome(s *Session, kind string, at time.Time) Outcome {
	return Outcome{Key: s.Key, Guide: s.Guide, Kind: kind, Step: s.Step, Started: s.Started, Ended: at}
}

// BenchmarkEngineStepMemory is one message through the engine on the
// memory store with a flow that allocates nothing (stepFlow): allocs/op is
// the engine's own share per message. (The whole message with the real
// guides is the main package's BenchmarkEngineStepMemory.)
func BenchmarkEngineStepMemory(b *testing.B) {
	e := NewEngine(NewMemoryStore(), stepFlow{}, EngineConfig{}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var addrs [64]Address
		for i := range addrs {
			addrs[i] = Address{Platform: "bench", User: fmt.Sprintf("%p-%d", &addrs, i)}
		}
		// Event ids made up front, so that making them is not counted:
		// each conversation cycles through 128, more than a session
		// remembers, so none is taken for a redelivery.
		ids := make([]string, len(addrs)*128)
		for i := range ids {
			ids[i] = fmt.Sprint("e", i)
		}
		n := 0
		for pb.Next() {
			if _, err := e.Handle(ctx, Message{Address: addrs[n%len(addrs)], ID: ids[n%len(ids)]}); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
