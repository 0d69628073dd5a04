package flows

import (
	"strings"
	"testing"

	"troubleshooter/bot"
)

// TestComingBackAfterExpiry: a conversation closed for inactivity (the
// engine marks it done, expired) is picked up by an answer to the
// question it stopped at, or by the offer's choices; anything else gets
// the offer.
func TestComingBackAfterExpiry(t *testing.T) {
	r := builtinRunner(t)
	tests := []struct {
		name     string
		messages []bot.Message
		wantStep string
		wantText string
		offered  bool // the offer is still open
	}{
		{"typed answer resumes", []bot.Message{{Text: "3 GB"}}, "free_space", "Welcome back!", false},
		{"a bare number is no size and no answer to an offer not yet shown", []bot.Message{{Text: "2"}}, "backup_size", "Shall we pick up there", true},
		{"click on the waiting question resumes", []bot.Message{{Choice: "where", Step: "backup_size"}}, "backup_size", "Welcome back!", false},
		{"anything else gets the offer", []bot.Message{{Text: "my backup still fails"}}, "backup_size", "Shall we pick up there", true},
		{"then 1 resumes", []bot.Message{{Text: "hello"}, {Text: "1"}}, "backup_size", "pick up where we stopped", false},
		{"then 2 starts over", []bot.Message{{Text: "hello"}, {Text: "2"}}, "icloud_access", "starting over", false},
		{"then the resume button", []bot.Message{{Text: "hello"}, {Choice: ChoiceResume, Step: "backup_size"}}, "backup_size", "pick up where we stopped", false},
		{"once the offer is shown, a typed answer gets the offer again", []bot.Message{{Text: "hello"}, {Text: "5 GB"}}, "backup_size", "Shall we pick up there", true},
		{"a click from another guide version gets the offer", []bot.Message{{Choice: "where", Step: "backup_size", GuideVersion: "0"}}, "backup_size", "Shall we pick up there", true},
		{"restart command", []bot.Message{{Text: "restart"}}, "icloud_access", "starting over", false},
		// On a multiple-choice question a number answers it, before the offer.
		{"option number answers a choice question", []bot.Message{{Text: "1"}}, "", "Welcome back!", false},
		{"stop command", []bot.Message{{Text: "stop"}}, "backup_size", "stopped", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := chat(t, r, "hi", "on", "fails")
			s.Done, s.Outcome = true, bot.OutcomeExpired // as the engine leaves it
			if tc.wantStep == "" {
				s, _ = chat(t, r, "hi") // on the iCloud switch question
				s.Done, s.Outcome = true, bot.OutcomeExpired
				tc.wantStep = "symptom"
			}
			var turn bot.Turn
			for _, m := range tc.messages {
				var err error
				if turn, err = r.Respond(s, m); err != nil {
					t.Fatal(err)
				}
			}
			if s.Step != tc.wantStep || !strings.Contains(allText(turn), tc.wantText) || (s.Offer != "") != tc.offered {
				t.Errorf("step %s, offer %q, replies:\n%s\nwant step %s, offer open %v, a reply with %q", s.Step, s.Offer, allText(turn), tc.wantStep, tc.offered, tc.wantText)
			}
			// The expiry was recorded; coming back records at most where
			// the person stopped or restarted, never a new start (see
			// TestFunnelRecords for the records in full).
			for _, o := range turn.Outcomes {
				if o.Kind != bot.OutcomeStopped && o.Kind != bot.OutcomeRestarted {
					t.Errorf("resuming recorded %+v; the expiry was already recorded", o)
				}
			}
		})
	}
}

func TestEscalationCarriesAHandoffAndHandedOffStaysQuiet(t *testing.T) {
	r := builtinRunner(t)
	s, turn := chat(t, r, "backup fails", "on", "fails", "3 GB", "10 GB", "yes", "17.0", "2.20.1", "no", "green", "no", "no", "yes", "no", "no")
	if turn.Handoff == nil || !strings.Contains(turn.Handoff.Summary, "**Fixes tried**") || turn.Handoff.GuideTitle == "" {
		t.Fatalf("escalation turn handoff = %+v", turn.Handoff)
	}
	s.HandedOff = true // as the engine marks it when a support channel exists
	for _, text := range []string{"hello?", "yes", "1", "help"} {
		turn, err := r.Respond(s, bot.Message{Text: text})
		if err != nil || len(turn.Replies) != 0 || !s.HandedOff {
			t.Errorf("%q while handed off: %q, %v; want silence", text, allText(turn), err)
		}
	}
	// A click on an old offer's "Start over" button does not end it; only
	// the typed command does. (Found in review.)
	if _, err := r.Respond(s, bot.Message{Choice: ChoiceStartOver, Step: "backup_size"}); err != nil || !s.HandedOff {
		t.Errorf("an old Start over click ended the handoff (now at %s), %v", s.Step, err)
	}
	turn, err := r.Respond(s, bot.Message{Text: "start over"})
	if err != nil || s.HandedOff || s.Done || s.Step != "icloud_access" {
		t.Errorf("restart while handed off: step %s, handed off %v, done %v, %v\n%s", s.Step, s.HandedOff, s.Done, err, allText(turn))
	}
}
