package main

import (
	"context"
	"fmt"
	"testing"

	"troubleshooter/bot"
)

// conversationScript is one full pass through the guide: storage fix,
// update fix, manual backup, then restart from the top.
var conversationScript = []string{"hi", "on", "3 GB", "5 GB", "no", "17.4.1", "2.24.21.77", "no", "restart"}

// BenchmarkEngineStepMemory measures one message through the real engine,
// guide, parsers and the in-memory store: ns/op is the cost of a message.
func BenchmarkEngineStepMemory(b *testing.B) {
	runner, err := loadGuides(defaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	e := bot.NewEngine(bot.NewMemoryStore(), runner, defaultConfig().Conversation, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine talks in its own conversations, 64 at a time.
		var addrs [64]bot.Address
		for i := range addrs {
			addrs[i] = bot.Address{Platform: "bench", User: fmt.Sprintf("%p-%d", &addrs, i)}
		}
		n := 0
		for pb.Next() {
			a := addrs[n%len(addrs)]
			text := conversationScript[(n/len(addrs))%len(conversationScript)]
			if _, err := e.Handle(ctx, bot.Message{Address: a, Text: text}); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
