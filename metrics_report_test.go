package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"troubleshooter/adapters/metrics"
	"troubleshooter/bot"
	"troubleshooter/report"
)

// TestMetricsCountStartsAsTheReportDoes runs people through the engine
// and the built-in guides, as serve does, and checks that /metrics counts
// starts and restarts as the report does: a restart mid-way, one at the
// first question (no answer given: neither a start nor a restart), a
// "start over" after an expiry, and a new problem after an ending (a
// second conversation, so a second start).
func TestMetricsCountStartsAsTheReportDoes(t *testing.T) {
	runner := builtinGuides(t)
	store := bot.NewMemoryStore()
	eng := bot.NewEngine(store, runner, bot.EngineConfig{IdleTimeout: time.Hour, NudgeAfter: -1, TurnTimeout: -1}, nil)
	m := metrics.New()
	m.Init([]string{"test"}, runner.IDs())
	eng.SetObserver(m)
	now := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	eng.SetClock(func() time.Time { return now })
	ctx := context.Background()
	n := 0
	say := func(user string, texts ...string) {
		t.Helper()
		for _, text := range texts {
			n++
			now = now.Add(time.Minute)
			msg := bot.Message{Address: bot.Address{Platform: "test", User: user}, ID: fmt.Sprint(n), Text: text, Time: now}
			if _, err := eng.Handle(ctx, msg); err != nil {
				t.Fatalf("%s says %q: %v", user, text, err)
			}
		}
	}
	say("plain", "hi", "on", "fails")
	say("midway", "hi", "on", "fails", "restart", "on")
	say("first", "hi", "restart", "on")
	say("expired", "hi", "on")
	now = now.Add(2 * time.Hour)
	say("expired", "start over", "on")
	say("again", "hi", "stop", "my whatsapp backup fails", "stop")

	rep, err := report.Build(ctx, store, runner, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	var started, restarted int64
	for _, g := range rep.Guides {
		started += g.Totals.Started
		restarted += g.Totals.Restarted
	}
	if started != 6 || restarted != 2 {
		t.Errorf("the report counts %d started, %d restarted; this test expects 6 and 2", started, restarted)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	if got := sumSeries(t, text, "troubleshooter_conversations_started_total"); got != started {
		t.Errorf("troubleshooter_conversations_started_total sums to %d; the report counts %d started", got, started)
	}
	if got := sumSeries(t, text, "troubleshooter_conversations_restarted_total"); got != restarted {
		t.Errorf("troubleshooter_conversations_restarted_total sums to %d; the report counts %d restarted", got, restarted)
	}
	if strings.Contains(text, `outcome="restarted"`) {
		t.Error("a restart is counted among the endings (troubleshooter_conversations_ended_total); the report keeps it apart")
	}
}

// sumSeries adds up every series of the family name in a text scrape.
func sumSeries(t *testing.T, text, name string) int64 {
	t.Helper()
	var sum int64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		sum += int64(v)
	}
	return sum
}
