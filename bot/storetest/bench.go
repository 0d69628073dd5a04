package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// benchSession is a mid-guide session of realistic size: a few answers and
// a run of remembered event ids.
func benchSession(key string) *bot.Session {
	s := &bot.Session{
		Key:     key,
		Address: bot.Address{Platform: "discord", Workspace: "g", Channel: "c", User: "u"},
		Guide:   "printer", GuideVersion: "1.2.0", Step: "check_cable",
		Started: time.Now(), Updated: time.Now(),
	}
	for i := range 6 {
		s.SetAnswer(fmt.Sprintf("step%d", i), fmt.Sprintf("var%d", i), "some answer value")
	}
	for i := range 20 {
		s.RememberEvent(fmt.Sprintf("evt-%016d", i))
	}
	return s
}

// BenchSave measures one message's store work on st: Load, change, Save,
// one conversation alone. Every store's benchmarks call it.
func BenchSave(b *testing.B, st bot.Store) {
	ctx := context.Background()
	if err := st.Save(ctx, benchSession("bench"), nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := st.Load(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		s.Step = "next"
		if err := st.Save(ctx, s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchSaveParallel is BenchSave with one key per goroutine, as with many
// concurrent conversations; parallelism is passed to b.SetParallelism
// (goroutines = parallelism × GOMAXPROCS). ns/op is wall time per message
// across all of them.
func BenchSaveParallel(b *testing.B, st bot.Store, parallelism int) {
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(max(1, parallelism))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprintf("bench/%d", next.Add(1))
		if err := st.Save(ctx, benchSession(key), nil); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			s, err := st.Load(ctx, key)
			if err != nil {
				b.Error(err)
				return
			}
			s.Step = "next"
			if err := st.Save(ctx, s, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
