package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

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

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct{ p, want float64 }{{0.5, 500}, {0.99, 990}, {0, 1}} {
		got := h.quantile(c.p)
		if got < c.want*0.96 || got > c.want*1.01 {
			t.Errorf("p%v = %.1fµs, want about %.0fµs", c.p*100, got, c.want)
		}
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
}

func TestBenchSmoke(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "bench", "--duration", "300ms", "--conversations", "4", "--store", "bolt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res benchResult
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not the JSON result: %v\n%s", err, stdout)
	}
	if res.Messages == 0 || res.MsgsPerS <= 0 || res.P50us <= 0 || res.P99us < res.P50us || res.Store != "bolt" {
		t.Errorf("implausible result %+v", res)
	}
	code, stdout, stderr = runCLI(t, "", "bench", "--path", "slack-http", "--duration", "300ms", "--conversations", "2")
	if code != 0 {
		t.Fatalf("slack-http: exit %d: %s", code, stderr)
	}
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	res = benchResult{}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Path != "slack-http" || res.Messages == 0 {
		t.Errorf("slack-http result %+v, %v", res, err)
	}
	if code, _, stderr := runCLI(t, "", "bench", "--store", "mongo"); code != 1 || !strings.Contains(stderr, "not one of memory, bolt") {
		t.Errorf("bad store: exit %d %s", code, stderr)
	}
}
