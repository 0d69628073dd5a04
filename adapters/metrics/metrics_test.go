package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// scrape serves the metrics over a real HTTP server and returns the text.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestObservationsBecomeMetrics(t *testing.T) {
	m := New()
	m.Handled("slack", 3*time.Millisecond, 2, false, nil)
	m.Handled("slack", time.Millisecond, 0, true, nil)
	m.Handled("discord", time.Second, 0, false, errors.New("store down"))
	m.Started("slack", "whatsapp-icloud")
	m.Ended(bot.Outcome{Guide: "whatsapp-icloud", Kind: bot.OutcomeResolved, Step: "fix_storage"})
	m.StoreOp("save", time.Millisecond, errors.New("timeout"))
	m.StoreOp("load", time.Millisecond, bot.ErrNotFound)
	m.APIError("discord", true)
	m.Handoff("slack", nil)
	m.Handoff("discord", errors.New("channel gone"))
	m.Notified("slack", "nudge", nil)
	m.Notified("slack", "expired", errors.New("not_in_channel"))
	text := scrape(t, m)
	for _, want := range []string{
		`troubleshooter_handoffs_total{platform="slack",result="posted"} 1`,
		`troubleshooter_handoffs_total{platform="discord",result="failed"} 1`,
		`troubleshooter_notices_total{kind="nudge",platform="slack",result="sent"} 1`,
		`troubleshooter_notices_total{kind="expired",platform="slack",result="failed"} 1`,
		`troubleshooter_messages_total{platform="slack"} 2`,
		`troubleshooter_replies_total{platform="slack"} 2`,
		`troubleshooter_duplicate_events_total{platform="slack"} 1`,
		`troubleshooter_handle_errors_total{platform="discord"} 1`,
		`troubleshooter_handle_seconds_count{platform="slack"} 2`,
		`troubleshooter_conversations_started_total{guide="whatsapp-icloud",platform="slack"} 1`,
		`troubleshooter_conversations_ended_total{guide="whatsapp-icloud",outcome="resolved",step="fix_storage"} 1`,
		`troubleshooter_store_errors_total{op="save"} 1`,
		`troubleshooter_platform_api_errors_total{platform="discord"} 1`,
		`troubleshooter_platform_rate_limited_total{platform="discord"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `troubleshooter_store_errors_total{op="load"}`) {
		t.Error("a missing session counted as a store error")
	}
}

// flow is a two-step guide, recording as the flows package does: the
// first message starts (a started record), "restart" starts the same
// conversation over (a restarted record, no started one), "next" moves
// on, "done" resolves.
type flow struct{}

func (flow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	start := func() bot.Outcome {
		s.Guide, s.Step = "g", "q"
		return bot.Outcome{Platform: s.Address.Platform, Guide: "g", Kind: bot.OutcomeStarted, Step: "q", Started: s.Started, Ended: s.Started}
	}
	switch {
	case s.Guide == "":
		return bot.Turn{Replies: []bot.Reply{{Text: "q?"}}, Outcomes: []bot.Outcome{start()}}, nil
	case m.Text == "restart":
		o := bot.Outcome{Platform: s.Address.Platform, Guide: "g", Kind: bot.OutcomeRestarted, Step: s.Step}
		s.Reset(m.Time)
		start()
		return bot.Turn{Replies: []bot.Reply{{Text: "OK, starting over. q?"}}, Outcomes: []bot.Outcome{o}}, nil
	case m.Text == "next":
		s.Step = "r"
		return bot.Turn{Replies: []bot.Reply{{Text: "r?"}}}, nil
	}
	s.Done, s.Outcome = true, bot.OutcomeResolved
	return bot.Turn{Replies: []bot.Reply{{Text: "bye"}}, Outcomes: []bot.Outcome{{Platform: s.Address.Platform, Guide: "g", Kind: bot.OutcomeResolved, Step: s.Step}}}, nil
}
func (flow) Current(*bot.Session) ([]bot.Reply, error)           { return nil, nil }
func (flow) Outcome(*bot.Session, string, time.Time) bot.Outcome { return bot.Outcome{} }

func TestEngineReportsToMetrics(t *testing.T) {
	m := New()
	e := bot.NewEngine(bot.NewMemoryStore(), flow{}, bot.EngineConfig{}, nil)
	e.SetObserver(m)
	a := bot.Address{Platform: "console", User: "u"}
	for _, text := range []string{"hi", "done"} {
		if _, err := e.Handle(context.Background(), bot.Message{Address: a, ID: text, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Handle(context.Background(), bot.Message{Address: a, ID: "done", Text: "done"}); err != nil {
		t.Fatal(err)
	}
	text := scrape(t, m)
	for _, want := range []string{
		`troubleshooter_messages_total{platform="console"} 3`,
		`troubleshooter_conversations_started_total{guide="g",platform="console"} 1`,
		`troubleshooter_conversations_ended_total{guide="g",outcome="resolved",step="q"} 1`,
		`troubleshooter_duplicate_events_total{platform="console"} 1`,
		`troubleshooter_store_seconds_count{op="save"} 2`,
		`troubleshooter_store_seconds_count{op="load"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s\n", want)
		}
	}
}

// TestRestartIsNotAStart: as in the report, a person starting over inside
// their conversation is a restart, not a second start, and not an ending
// either: it is counted apart, by platform and guide, and the
// conversation is counted by how it finally ends.
func TestRestartIsNotAStart(t *testing.T) {
	m := New()
	m.Init([]string{"console"}, []string{"g"})
	e := bot.NewEngine(bot.NewMemoryStore(), flow{}, bot.EngineConfig{}, nil)
	e.SetObserver(m)
	a := bot.Address{Platform: "console", User: "u"}
	for i, text := range []string{"hi", "next", "restart", "next", "done"} {
		msg := bot.Message{Address: a, ID: fmt.Sprint(i), Text: text, Time: time.Now().Add(time.Duration(i) * time.Second)}
		if _, err := e.Handle(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	text := scrape(t, m)
	for _, want := range []string{
		`troubleshooter_conversations_started_total{guide="g",platform="console"} 1`,
		`troubleshooter_conversations_restarted_total{guide="g",platform="console"} 1`,
		`troubleshooter_conversations_ended_total{guide="g",outcome="resolved",step="r"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `outcome="restarted"`) {
		t.Errorf("a restart counted as an ending:\n%s", grep(text, "troubleshooter_conversations_"))
	}
}

// grep returns the lines of text that contain s.
func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSeriesExistBeforeTheFirstMessage: with the configured platforms and
// guides named, their series are exported at zero before anything
// happens, and build_info is 1; with none configured there are still
// troubleshooter_ series (build info, store operations).
func TestSeriesExistBeforeTheFirstMessage(t *testing.T) {
	m := New()
	m.SetBuildInfo("v1.2.3", "abc123-dirty", "go1.26.8")
	m.Init([]string{"slack"}, []string{"whatsapp-icloud"})
	text := scrape(t, m)
	for _, want := range []string{
		`troubleshooter_build_info{go="go1.26.8",revision="abc123-dirty",version="v1.2.3"} 1`,
		`troubleshooter_messages_total{platform="slack"} 0`,
		`troubleshooter_replies_total{platform="slack"} 0`,
		`troubleshooter_handle_errors_total{platform="slack"} 0`,
		`troubleshooter_handle_seconds_count{platform="slack"} 0`,
		`troubleshooter_platform_api_errors_total{platform="slack"} 0`,
		`troubleshooter_platform_rate_limited_total{platform="slack"} 0`,
		`troubleshooter_handoffs_total{platform="slack",result="failed"} 0`,
		`troubleshooter_notices_total{kind="nudge",platform="slack",result="sent"} 0`,
		`troubleshooter_conversations_started_total{guide="whatsapp-icloud",platform="slack"} 0`,
		`troubleshooter_conversations_restarted_total{guide="whatsapp-icloud",platform="slack"} 0`,
		`troubleshooter_store_errors_total{op="save"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `platform="discord"`) {
		t.Error("series for a platform that is not configured")
	}

	none := New()
	none.Init(nil, []string{"whatsapp-icloud"})
	if text := scrape(t, none); !strings.Contains(text, "troubleshooter_store_seconds_count{op=\"load\"} 0") {
		t.Errorf("with no platform, no troubleshooter_ series:\n%.300s", text)
	}
}
