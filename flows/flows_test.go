package flows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

func builtinRunner(t testing.TB) *Runner {
	t.Helper()
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// chat sends texts one by one to a new session and returns it with the
// replies of the last turn.
func chat(t *testing.T, r *Runner, texts ...string) (*bot.Session, bot.Turn) {
	t.Helper()
	s := &bot.Session{Key: "k"}
	var turn bot.Turn
	for _, text := range texts {
		var err error
		turn, err = r.Respond(s, bot.Message{Text: text, Time: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatalf("after %q: %v", text, err)
		}
	}
	return s, turn
}

func allText(turn bot.Turn) string {
	var b strings.Builder
	for _, r := range turn.Replies {
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}

func TestTwiceRule(t *testing.T) {
	r := builtinRunner(t)
	cases := []struct {
		backup, free, step string
	}{
		{"3 GB", "5 GB", "fix_storage"},
		{"3 GB", "6 GB", "ios_version"},
		{"3.2 GB", "6400 MB", "ios_version"},
		{"3,2 GB", "6.3 GB", "fix_storage"},
		{"800mb", "about 1.5GB", "fix_storage"},
		{"512 MB", "2 TB", "ios_version"},
	}
	for _, c := range cases {
		s, turn := chat(t, r, "my backup fails", "on", c.backup, c.free)
		if s.Step != c.step {
			t.Errorf("backup %s, free %s: step %s, want %s\n%s", c.backup, c.free, s.Step, c.step, allText(turn))
		}
	}
	_, turn := chat(t, r, "hi", "on", "3 GB", "5 GB")
	if text := allText(turn); !strings.Contains(text, "needs about **6 GB** free, and you have 5 GB") {
		t.Errorf("the storage verdict does not explain the 2× rule:\n%s", text)
	}
	if text := allText(turn); !strings.Contains(text, "Include Videos") {
		t.Errorf("the storage fix does not mention leaving videos out:\n%s", text)
	}
}

func TestVersionComparison(t *testing.T) {
	r := builtinRunner(t)
	cur := r.Guide("whatsapp-icloud").values
	cases := []struct {
		ios, wa, step string
	}{
		{"iOS 17.4.1", "2.24.21.77", "fix_update"},
		{cur["current_ios"], cur["current_whatsapp"], "fix_manual"},
		{"I'm on 16", cur["current_whatsapp"], "fix_update"},
		{cur["current_ios"], "2.24.21.77", "fix_update"},
		{"99.1", "99.0", "fix_manual"},
	}
	for _, c := range cases {
		s, turn := chat(t, r, "hi", "on", "1 GB", "10 GB", c.ios, c.wa)
		if s.Step != c.step {
			t.Errorf("iOS %s, WhatsApp %s: step %s, want %s\n%s", c.ios, c.wa, s.Step, c.step, allText(turn))
		}
	}
}

func TestFirstMessageJumps(t *testing.T) {
	r := builtinRunner(t)
	cases := map[string]string{
		"it says not enough iCloud storage":      "fix_storage",
		"the WhatsApp switch in iCloud is off":   "fix_icloud_access",
		"my WhatsApp backup keeps failing":       "icloud_access",
		"the backup is stuck and never finishes": "fix_manual",
		"is icloud down?":                        "apple_status",
		"":                                       "icloud_access",
	}
	for text, want := range cases {
		s, _ := chat(t, r, text)
		if s.Step != want {
			t.Errorf("%q starts at %s, want %s", text, s.Step, want)
		}
	}
}

func TestSkippedSizesLeaveTheCheckUnknown(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "skip", "skip")
	if s.Step != "ios_version" {
		t.Errorf("after skipping both sizes: step %s, want ios_version", s.Step)
	}
	if s.Answers["@storage_check"] != "unknown" {
		t.Errorf("storage verdict %q, want unknown", s.Answers["@storage_check"])
	}
}

func TestBackUndoesAnswers(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "3 GB", "5 GB", "back")
	if s.Step != "free_space" {
		t.Fatalf("back from fix_storage went to %s, want free_space", s.Step)
	}
	if _, ok := s.Answers["free_space"]; ok {
		t.Error("back kept the undone answer")
	}
	if s.Answers["backup_size"] != "3000000000" {
		t.Errorf("back lost an earlier answer: %v", s.Answers)
	}
	s, _ = chat(t, r, "hi", "back", "back")
	if s.Step != "icloud_access" {
		t.Errorf("back at the first question moved to %s", s.Step)
	}
}

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
		s, turn := chat(t, r, "hi", "on", answer)
		if s.Step != "backup_size" || !strings.Contains(allText(turn), want) {
			t.Errorf("size %q: step %s\n%s", answer, s.Step, allText(turn))
		}
		if last := turn.Replies[len(turn.Replies)-1]; last.Input != "size" {
			t.Errorf("size %q: the re-ask does not expect a size: %+v", answer, last)
		}
	}
}

func TestEscalationSummary(t *testing.T) {
	r := builtinRunner(t)
	s, turn := chat(t, r, "hi", "on", "3 GB", "10 GB", "17.0", "2.20.1",
		"no", "no", "green", "no", "yes", "no", "no")
	if !s.Done || s.Outcome != bot.OutcomeEscalated {
		t.Fatalf("done %v outcome %q step %s\n%s", s.Done, s.Outcome, s.Step, allText(turn))
	}
	text := allText(turn)
	for _, want := range []string{
		"Apple Support", "WhatsApp Support",
		"WhatsApp allowed to use iCloud: It's on", "Backup size: 3 GB", "Free iCloud space: 10 GB",
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

func TestStaleClickGetsTheCurrentQuestion(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on")
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

func TestLintProblems(t *testing.T) {
	head := "id: g\nversion: \"1\"\ntitle: T\nstart: a\nsteps:\n"
	end := "  - id: done\n    kind: end\n    outcome: resolved\n    text: ok\n"
	cases := []struct {
		name, steps, want string
	}{
		{"no kind", "  - id: a\n    text: hi\n", `step "a": step has no kind`},
		{"bad kind", "  - id: a\n    kind: maybe\n    text: hi\n", `unknown kind "maybe"`},
		{"ask without choices", "  - id: a\n    kind: ask\n    text: hi\n", "ask step needs choices"},
		{"input without kind", "  - id: a\n    kind: input\n    text: hi\n    next: done\n", "input step needs input:"},
		{"condition not bool", "  - id: a\n    kind: check\n    if: \"1 + 1\"\n    then: done\n    else: done\n", "if: expected bool"},
		{"template error", "  - id: a\n    kind: fix\n    text: \"{{ .x \"\n    next: done\n", "text: template"},
		{"bad end outcome", "  - id: a\n    kind: fix\n    text: t\n    next: done\n  - id: done\n    kind: end\n    outcome: maybe\n    text: x\n", `outcome: resolved or escalated (got "maybe")`},
		{"check loop", "  - id: a\n    kind: fix\n    text: t\n    next: b\n  - id: b\n    kind: check\n    if: \"true\"\n    then: c\n    else: done\n  - id: c\n    kind: check\n    if: \"true\"\n    then: b\n    else: done\n", "checks form a loop"},
		{"reserved choice", "  - id: a\n    kind: ask\n    text: t\n    choices:\n      - id: skip\n        label: S\n        next: done\n", `choice id "skip" is reserved`},
		{"bad step id", "  - id: A-1\n    kind: fix\n    text: t\n    next: done\n", "step id must be"},
		{"missing start", "", `start step "a" does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Parse("t.yaml", []byte(head+c.steps+end))
			if err == nil {
				_, err = Compile(g, nil)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func FuzzParseGuide(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/guides/*.yaml")
	seeds = append(seeds, "whatsapp-icloud.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("id: x\nsteps: [1, 2]\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("parse error does not name the file: %v", err)
			}
			return
		}
		c, err := Compile(g, nil)
		if err != nil {
			return
		}
		// A guide that compiles must run: start it and answer a few times.
		r, err := NewRunner([]*Compiled{c}, "")
		if err != nil {
			t.Fatal(err)
		}
		s := &bot.Session{Key: "k"}
		for _, text := range []string{"hi", "1", "yes", "3 GB", "17.1", "skip", "back", "no"} {
			if _, err := r.Respond(s, bot.Message{Text: text}); err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			if s.Done {
				break
			}
			if _, ok := c.steps[s.Step]; !ok {
				t.Fatalf("session on unknown step %q", s.Step)
			}
		}
	})
}

func FuzzRespond(f *testing.F) {
	r := builtinRunner(f)
	for _, s := range []string{"yes", "3 GB", "17.4", "back", "skip", "not sure", "2", "👍", "\u202e", strings.Repeat("a", 1000)} {
		f.Add(uint8(3), s)
	}
	steps := r.Guide("whatsapp-icloud").Guide.Steps
	f.Fuzz(func(t *testing.T, stepIndex uint8, text string) {
		st := steps[int(stepIndex)%len(steps)]
		s := &bot.Session{Key: "k", Guide: "whatsapp-icloud", GuideVersion: "1", Step: st.ID}
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

func TestParseRefusesAliases(t *testing.T) {
	// Nested aliases expand exponentially; a guide must not be able to
	// stall the loader that way.
	src := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nid: [*c,*c]\n"
	_, err := Parse("bomb.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml:2: YAML aliases") {
		t.Errorf("err = %v, want the alias refused at line 2", err)
	}
	if _, err := Parse("two.yaml", []byte("id: a\n---\nid: b\n")); err == nil || !strings.Contains(err.Error(), "one YAML document") {
		t.Errorf("two documents: err = %v", err)
	}
}

func TestOutcomeNamesTheFixThatWorked(t *testing.T) {
	r := builtinRunner(t)
	_, turn := chat(t, r, "hi", "on", "1 GB", "50 GB", "17.0", "2.20", "no", "yes")
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

func compileVariant(t *testing.T, version, oldText, newText string) *Compiled {
	t.Helper()
	data, err := os.ReadFile("whatsapp-icloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), `version: "1"`, `version: "`+version+`"`, 1)
	if !strings.Contains(src, oldText) {
		t.Fatalf("guide lacks %q", oldText)
	}
	src = strings.Replace(src, oldText, newText, 1)
	g, err := Parse("v"+version+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReloadKeepsConversationsOnTheirVersion(t *testing.T) {
	r := builtinRunner(t)
	old, _ := chat(t, r, "hi", "on")
	if old.Step != "backup_size" || old.GuideVersion != "1" {
		t.Fatalf("setup: %s v%s", old.Step, old.GuideVersion)
	}
	v2 := compileVariant(t, "2", "How much iCloud space do you have free?", "How much free space does iCloud show?")
	if err := r.Reload([]*Compiled{v2}, ""); err != nil {
		t.Fatal(err)
	}
	turn, err := r.Respond(old, bot.Message{Text: "3 GB"})
	if err != nil {
		t.Fatal(err)
	}
	if old.GuideVersion != "1" || !strings.Contains(allText(turn), "How much iCloud space do you have free?") {
		t.Errorf("the old conversation moved to v%s:\n%s", old.GuideVersion, allText(turn))
	}
	fresh, turn := chat(t, r, "hi", "on", "3 GB")
	if fresh.GuideVersion != "2" || !strings.Contains(allText(turn), "How much free space does iCloud show?") {
		t.Errorf("a new conversation is on v%s:\n%s", fresh.GuideVersion, allText(turn))
	}
	// A failed reload changes nothing.
	if err := r.Reload([]*Compiled{v2, v2}, ""); err == nil {
		t.Error("a reload with a duplicate guide id was accepted")
	}
	if err := r.Reload([]*Compiled{v2}, "nope"); err == nil {
		t.Error("a reload with an unknown default was accepted")
	}
	if got := r.Guide("whatsapp-icloud").Guide.Version; got != "2" {
		t.Errorf("after failed reloads the guide is v%s", got)
	}
}

func TestConcurrentReloadAndConversations(t *testing.T) {
	r := builtinRunner(t)
	v2 := compileVariant(t, "2", "First: is WhatsApp", "To begin: is WhatsApp")
	v1 := r.Guide("whatsapp-icloud")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if err := r.Reload([]*Compiled{[]*Compiled{v1, v2}[i%2]}, ""); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 50 {
		s, _ := chat(t, r, "hi", "on", "3 GB", "5 GB")
		if s.Step != "fix_storage" {
			t.Errorf("step %s during reloads", s.Step)
		}
	}
	<-done
}

func TestGuideGuards(t *testing.T) {
	deep := "id: x\nsteps: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	if _, err := Parse("deep.yaml", []byte(deep)); err == nil || !strings.Contains(err.Error(), "deep.yaml:2: brackets nested 100000 deep") {
		t.Errorf("deep nesting: %v", err)
	}
	head := "id: g\nversion: \"1\"\ntitle: T\nintro: \"hi {{.typo}}\"\nstart: c\nsteps:\n"
	steps := "  - id: c\n    kind: check\n    if: \"true\"\n    then: done\n    else: done\n  - id: done\n    kind: end\n    outcome: resolved\n    text: \"{{.summary}} {{.nope.Twice}}\"\n"
	g, err := Parse("t.yaml", []byte(head+steps))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(g, nil)
	for _, want := range []string{
		`step "c": the start step must ask something (ask, input or fix), not be a check`,
		`step "intro": intro: {{.typo}} is not an answer, a value or summary`,
		`step "done": text: {{.nope}} is not an answer`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "{{.summary}}") {
		t.Errorf("summary was rejected: %v", err)
	}
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
	if _, err := r.Respond(s, bot.Message{Choice: "on", Step: "icloud_access", GuideVersion: "1"}); err != nil || s.Step != "backup_size" {
		t.Errorf("a click from the current version was not applied: %s %v", s.Step, err)
	}
}

func TestBackPastACheckForgetsItsVerdict(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "3 GB", "5 GB")
	if s.Answers["@storage_check"] != "false" {
		t.Fatalf("verdict %q", s.Answers["@storage_check"])
	}
	s2, turn := chat(t, r, "hi", "on", "3 GB", "5 GB", "back", "status")
	if s2.Step != "free_space" {
		t.Fatalf("back went to %s", s2.Step)
	}
	if _, ok := s2.Answers["@storage_check"]; ok || strings.Contains(allText(turn), "Enough free iCloud space") {
		t.Errorf("status after going back still shows the old verdict:\n%s", allText(turn))
	}
	s3, _ := chat(t, r, "hi", "on", "3 GB", "5 GB", "back", "6 GB")
	if s3.Step != "ios_version" || s3.Answers["@storage_check"] != "true" {
		t.Errorf("after a new answer: step %s verdict %q", s3.Step, s3.Answers["@storage_check"])
	}
}

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
			s, _ := chat(t, r, "hi", "on")
			s.Done, s.Outcome = true, bot.OutcomeExpired // as the engine leaves it
			if tc.wantStep == "" {
				s, _ = chat(t, r, "hi") // on the iCloud switch question
				s.Done, s.Outcome = true, bot.OutcomeExpired
				tc.wantStep = "backup_size"
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
			if len(turn.Outcomes) > 0 && tc.name != "stop command" {
				t.Errorf("resuming recorded outcomes %+v; the expiry was already recorded", turn.Outcomes)
			}
		})
	}
}

func TestEscalationCarriesAHandoffAndHandedOffStaysQuiet(t *testing.T) {
	r := builtinRunner(t)
	s, turn := chat(t, r, "backup fails", "on", "3 GB", "10 GB", "17.0", "2.20.1", "no", "no", "green", "no", "yes", "no", "no")
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
