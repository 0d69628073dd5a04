package flows

import (
	"strings"
	"testing"

	"troubleshooter/bot"
)

func TestEscalationSummary(t *testing.T) {
	r := builtinRunner(t)
	s, turn := chat(t, r, "hi", "on", "fails", "3 GB", "10 GB", "yes", "17.0", "2.20.1",
		"no", "green", "no", "no", "yes", "no", "no")
	if !s.Done || s.Outcome != bot.OutcomeEscalated {
		t.Fatalf("done %v outcome %q step %s\n%s", s.Done, s.Outcome, s.Step, allText(turn))
	}
	text := allText(turn)
	for _, want := range []string{
		"Apple Support", "WhatsApp Support",
		"WhatsApp allowed to use iCloud: on", "Backup size: 3 GB", "Free iCloud space: 10 GB",
		"Enough free iCloud space (at least twice the backup): yes",
		"iOS version: 17.0", "WhatsApp version: 2.20.1", "iOS and WhatsApp up to date: no",
		"Update iOS and WhatsApp: didn't help", "Restart the iPhone: didn't help",
		"Leave videos out of the backup: didn't help", "Delete the old iCloud backup and back up afresh: didn't help",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if len(turn.Outcomes) != 1 || turn.Outcomes[0].Kind != bot.OutcomeEscalated || len(turn.Outcomes[0].Tried) != 5 {
		t.Errorf("outcome record %+v", turn.Outcomes)
	}
}

func TestOutcomeNamesTheFixThatWorked(t *testing.T) {
	r := builtinRunner(t)
	_, turn := chat(t, r, "hi", "on", "fails", "1 GB", "50 GB", "yes", "17.0", "2.20", "no", "green", "yes")
	if len(turn.Outcomes) != 1 {
		t.Fatalf("outcomes %+v", turn.Outcomes)
	}
	o := turn.Outcomes[0]
	if o.Kind != bot.OutcomeResolved || o.Step != "fix_manual" {
		t.Errorf("resolved outcome at %q (%s), want fix_manual", o.Step, o.Kind)
	}
	if strings.Join(o.Tried, ",") != "fix_update,fix_manual" {
		t.Errorf("tried %v", o.Tried)
	}
}
