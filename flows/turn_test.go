package flows

import (
	"strings"
	"testing"

	"troubleshooter/bot"
)

func TestUnparseableAnswersReask(t *testing.T) {
	r := builtinRunner(t)
	cases := []struct {
		answer, want string
	}{
		{"purple", "Sorry, I didn't catch that"},
		{"not sure", "Green means on"},
	}
	for _, c := range cases {
		s, turn := chat(t, r, "hi", c.answer)
		if s.Step != "icloud_access" || !strings.Contains(allText(turn), c.want) {
			t.Errorf("%q: step %s\n%s", c.answer, s.Step, allText(turn))
		}
	}
	sizeCases := map[string]string{
		"3":            "include the unit",
		"lots":         "couldn't read that as a size",
		"3 GB or 5 GB": "more than one size",
		"don't know":   "Below the details of the last backup",
		"\x00\u202e🙂🙂": "couldn't read that as a size",
	}
	for answer, want := range sizeCases {
		s, turn := chat(t, r, "hi", "on", "fails", answer)
		if s.Step != "backup_size" || !strings.Contains(allText(turn), want) {
			t.Errorf("size %q: step %s\n%s", answer, s.Step, allText(turn))
		}
		if last := turn.Replies[len(turn.Replies)-1]; last.Input != "size" {
			t.Errorf("size %q: the re-ask does not expect a size: %+v", answer, last)
		}
	}
}

func TestStaleClickGetsTheCurrentQuestion(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "fails")
	turn, err := r.Respond(s, bot.Message{Choice: "off", Step: "icloud_access"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != "backup_size" || !strings.Contains(allText(turn), "already answered") {
		t.Errorf("stale click moved to %s:\n%s", s.Step, allText(turn))
	}
}

func TestRemovedStepResetsWithExplanation(t *testing.T) {
	r := builtinRunner(t)
	s := &bot.Session{Key: "k", Guide: "whatsapp-icloud", GuideVersion: "0", Step: "a_step_that_was_removed"}
	turn, err := r.Respond(s, bot.Message{Text: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != "icloud_access" || !strings.Contains(allText(turn), "guide was updated") {
		t.Errorf("step %s\n%s", s.Step, allText(turn))
	}
	if len(turn.Outcomes) != 1 || turn.Outcomes[0].Kind != bot.OutcomeRestarted {
		t.Errorf("outcomes %+v", turn.Outcomes)
	}
}

func FuzzRespond(f *testing.F) {
	r := builtinRunner(f)
	for _, s := range []string{"yes", "3 GB", "17.4", "back", "skip", "not sure", "2", "👍", "\u202e", strings.Repeat("a", 1000)} {
		f.Add(uint8(3), s)
	}
	steps := r.Guide("whatsapp-icloud").Guide.Steps
	f.Fuzz(func(t *testing.T, stepIndex uint8, text string) {
		st := steps[int(stepIndex)%len(steps)]
		s := &bot.Session{Key: "k", Guide: "whatsapp-icloud", GuideVersion: "2", Step: st.ID}
		turn, err := r.Respond(s, bot.Message{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if len(turn.Replies) == 0 {
			t.Fatal("no reply")
		}
		cs := r.Guide("whatsapp-icloud").steps[s.Step]
		if cs == nil || (cs.Kind == KindCheck) || (cs.Kind == KindEnd && !s.Done) {
			t.Fatalf("session left on %q (done %v)", s.Step, s.Done)
		}
	})
}

func TestClickFromAnotherGuideVersionIsStale(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi")
	turn, err := r.Respond(s, bot.Message{Choice: "on", Step: "icloud_access", GuideVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != "icloud_access" || !strings.Contains(allText(turn), "already answered") {
		t.Errorf("a click from guide version 0 was applied: step %s\n%s", s.Step, allText(turn))
	}
	if _, err := r.Respond(s, bot.Message{Choice: "on", Step: "icloud_access", GuideVersion: "2"}); err != nil || s.Step != "symptom" {
		t.Errorf("a click from the current version was not applied: %s %v", s.Step, err)
	}
}
