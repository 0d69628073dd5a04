package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"troubleshooter/bot"
)

// supportDesk records handoffs, as a platform's support channel would.
type supportDesk struct {
	mu       sync.Mutex
	handoffs []bot.Handoff
}

func (d *supportDesk) PostHandoff(_ context.Context, h bot.Handoff) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handoffs = append(d.handoffs, h)
	return nil
}

// TestEscalationPostsTheGuideSummaryToSupport runs the built-in guide to
// its escalation and checks what the support team is told.
func TestEscalationPostsTheGuideSummaryToSupport(t *testing.T) {
	runner := builtinGuides(t)
	desk := &supportDesk{}
	e := bot.NewEngine(bot.NewMemoryStore(), runner, bot.EngineConfig{}, nil)
	e.SetHandoffPoster("discord", desk)
	person := bot.Address{Platform: "discord", Workspace: "G1", Channel: "C1", User: "U1"}
	ctx := context.Background()
	var last bot.Result
	var err error
	for _, text := range []string{"backup fails", "on", "fails", "3 GB", "10 GB", "yes", "17.0", "2.20.1", "no", "green", "no", "no", "yes", "no", "no"} {
		if last, err = e.Handle(ctx, bot.Message{Address: person, Text: text}); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
	}
	if last.Outcome != bot.OutcomeEscalated || last.Replies[len(last.Replies)-1].Text != bot.HandoffNotice {
		t.Fatalf("last turn = %+v; want an escalation ending with the handoff notice", last)
	}
	if len(desk.handoffs) != 1 {
		t.Fatalf("%d handoffs posted, want 1", len(desk.handoffs))
	}
	h := desk.handoffs[0]
	if h.Address != person || h.Guide != "whatsapp-icloud" || h.GuideTitle == "" || h.At.IsZero() || h.Started.IsZero() {
		t.Errorf("handoff header = %+v", h)
	}
	for _, want := range []string{
		"WhatsApp allowed to use iCloud: on",
		"Backup size: 3 GB",
		"Free iCloud space: 10 GB",
		"Enough free iCloud space (at least twice the backup): yes",
		"iOS version: 17.0",
		"WhatsApp version: 2.20.1",
		"Update iOS and WhatsApp: didn't help",
		"Delete the old iCloud backup and back up afresh: didn't help",
	} {
		if !strings.Contains(h.Summary, want) {
			t.Errorf("handoff summary lacks %q:\n%s", want, h.Summary)
		}
	}
	// Staff have it now: the bot keeps quiet, until staff close it.
	res, err := e.Handle(ctx, bot.Message{Address: person, Text: "hello? is anyone there"})
	if err != nil || len(res.Replies) != 0 {
		t.Errorf("message while handed off = %+v, %v; want silence", res, err)
	}
	replies, closed, err := e.CloseHandoff(ctx, person, desk.handoffs[0].Started)
	if err != nil || !closed || len(replies) != 1 {
		t.Fatalf("CloseHandoff = %+v, %v, %v", replies, closed, err)
	}
	res, err = e.Handle(ctx, bot.Message{Address: person, Text: "hi"})
	if err != nil || len(res.Replies) == 0 || res.Step != "icloud_access" {
		t.Errorf("after staff closed it, a message = %+v, %v; want a fresh start", res, err)
	}
}
