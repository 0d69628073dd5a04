package flows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// walk is one scripted conversation with the built-in guides: the opening
// words, then the answer to each question by step id. Fix steps without an
// answer are answered "no" (the fix did not help); any other question
// without an answer ends the walk.
type walk struct {
	t       *testing.T
	r       *Runner
	s       *bot.Session
	steps   []string // every step landed on, in order
	texts   []string // every reply, in order
	last    bot.Turn
	answers map[string]string
}

func newWalk(t *testing.T, r *Runner) *walk {
	return &walk{t: t, r: r, s: &bot.Session{Key: "k"}}
}

// say sends one message and records what came back.
func (w *walk) say(text string) bot.Turn {
	w.t.Helper()
	turn, err := w.r.Respond(w.s, bot.Message{Text: text, Time: time.Unix(1700000000, 0)})
	if err != nil {
		w.t.Fatalf("after %q: %v", text, err)
	}
	w.last = turn
	for _, rep := range turn.Replies {
		w.texts = append(w.texts, rep.Text)
	}
	w.steps = append(w.steps, w.s.Step)
	return turn
}

// run answers questions from answers until the conversation ends or
// reaches a question the script does not answer.
func (w *walk) run(answers map[string]string) {
	w.t.Helper()
	g := w.r.Guide(w.s.Guide)
	for i := 0; i < 60 && !w.s.Done; i++ {
		a, ok := answers[w.s.Step]
		if !ok {
			if cs := g.steps[w.s.Step]; cs == nil || cs.Kind != KindFix {
				return
			}
			a = "no"
		}
		w.say(a)
	}
}

func (w *walk) all() string { return strings.Join(w.texts, "\n") }

func (w *walk) visited(step string) bool { return slices.Contains(w.steps, step) }

// healthy answers every question the way a phone with nothing wrong would.
func healthy() map[string]string {
	return map[string]string{
		"icloud_access":    "on",
		"symptom":          "fails",
		"backup_size":      "1 GB",
		"free_space":       "50 GB",
		"phone_space":      "yes",
		"ios_version":      "26.1",
		"whatsapp_version": "2.25.33.75",
		"apple_status":     "green",
		"videos":           "off",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Item 1: "WhatsApp isn't in the list" has no switch to turn on: it leads
// to signing in and iCloud Drive, and the ways people say it are understood.
func TestDiagnoseWhatsAppMissingFromList(t *testing.T) {
	r := builtinRunner(t)
	for _, said := range []string{"WhatsApp isn't in the list", "3", "it's missing", "whatsapp isn't there", "i cant see whatsapp in there"} {
		w := newWalk(t, r)
		w.say("hi")
		w.say(said)
		if w.s.Step != "fix_icloud_signin" {
			t.Errorf("%q: step %s, want fix_icloud_signin\n%s", said, w.s.Step, allText(w.last))
			continue
		}
		text := allText(w.last)
		for _, want := range []string{"signed in to iCloud", "iCloud Drive", "WhatsApp is listed now. Turn its switch on"} {
			if !strings.Contains(text, want) {
				t.Errorf("%q: the sign-in fix lacks %q:\n%s", said, want, text)
			}
		}
	}
}

// Item 2: 2.YY.NN.NN (WhatsApp's App Info) and YY.NN.NN (the App Store)
// name one release, whichever form the person or the operator writes.
func TestDiagnoseWhatsAppVersionForms(t *testing.T) {
	for _, c := range []struct{ current, typed string }{
		{"", "2.25.33.75"},
		{"", "25.33.75"},
		{"25.33.75", "2.25.33.75"},
		{"2.25.33.75", "25.33.75"},
		{"25.33.75", "25.33.75"},
	} {
		r := builtinRunner(t)
		if c.current != "" {
			r = runnerWithValues(t, map[string]string{"current_whatsapp": c.current})
		}
		w := newWalk(t, r)
		w.say("hi")
		w.run(with(healthy(), "whatsapp_version", c.typed))
		if w.visited("fix_update") || strings.Contains(w.all(), "the current one is") {
			t.Errorf("current %q, typed %q: called outdated:\n%s", c.current, c.typed, w.all())
		}
		if !w.visited("apple_status") {
			t.Errorf("current %q, typed %q: never got past the versions: %v", c.current, c.typed, w.steps)
		}
	}
	// The example the bot shows is in the form the operator's value uses.
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(with(healthy(), "whatsapp_version", "?"))
	if !strings.Contains(w.all(), "2.25.33.75") {
		t.Errorf("the WhatsApp version question shows no example in the 2.YY.NN.NN form:\n%s", w.all())
	}
}

// Item 3: the update fix names only what is out of date.
func TestDiagnoseUpdateNamesOnlyWhatIsOld(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(with(healthy(), "whatsapp_version", "2.24.1.1", "fix_update", "stop"))
	if !w.visited("fix_update") {
		t.Fatalf("an old WhatsApp did not lead to the update fix: %v", w.steps)
	}
	text := w.all()
	for _, bad := range []string{"you have iOS 26.1", "Software Update"} {
		if strings.Contains(text, bad) {
			t.Errorf("iOS is current, yet the fix says %q:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, "WhatsApp 2.24.1.1") || !strings.Contains(text, "App Store") {
		t.Errorf("the fix does not name the old WhatsApp:\n%s", text)
	}
}

// Item 4: while Apple's status is not green, the bot waits: no "did that
// fix it?", no restart, videos or deleting; "it's green now" carries on
// with Back Up Now.
func TestDiagnoseOutageWaits(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	answers := healthy()
	delete(answers, "apple_status")
	w.run(answers)
	if w.s.Step != "apple_status" {
		t.Fatalf("never reached Apple's status: %v", w.steps)
	}
	turn := w.say("it's not green")
	if strings.Contains(allText(turn), "Did that fix it?") {
		t.Errorf("asked whether waiting fixed it at once:\n%s", allText(turn))
	}
	for _, msg := range []string{"still not green", "still down"} {
		w.say(msg)
		if st := w.r.Guide(w.s.Guide).steps[w.s.Step]; st.Kind == KindFix || w.s.Done {
			t.Errorf("%q while Apple is down walked on to %s", msg, w.s.Step)
		}
	}
	for _, step := range []string{"fix_restart", "videos", "fix_delete_backup"} {
		if w.visited(step) {
			t.Errorf("offered %s while Apple is down", step)
		}
	}
	turn = w.say("it's green now")
	if !strings.Contains(allText(turn), "Back Up Now") || w.r.Guide(w.s.Guide).steps[w.s.Step].Kind != KindFix {
		t.Errorf("coming back green did not carry on with Back Up Now: step %s\n%s", w.s.Step, allText(turn))
	}
}

// Item 5: the message before the escalation never promises a next thing.
func TestDiagnoseEscalationWording(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(with(healthy(), "videos", "on"))
	if !w.s.Done || w.s.Outcome != bot.OutcomeEscalated {
		t.Fatalf("did not escalate: %v", w.steps)
	}
	if text := allText(w.last); strings.Contains(text, "Let's try the next thing") {
		t.Errorf("promised a next thing right before giving up:\n%s", text)
	}
}

// Item 6: the closing tip fits the fix that worked.
func TestDiagnoseClosingTipFitsTheFix(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(map[string]string{"icloud_access": "off", "fix_icloud_access": "yes"})
	if w.s.Outcome != bot.OutcomeResolved {
		t.Fatalf("not resolved: %v", w.steps)
	}
	text := allText(w.last)
	if strings.Contains(text, "twice the backup") {
		t.Errorf("the switch fix worked, yet the tip is about space:\n%s", text)
	}
	if !strings.Contains(text, "switch on") {
		t.Errorf("no tip about the switch:\n%s", text)
	}
}

// Item 7: after the end, thanks or a second stop get a short closing
// answer; a new problem starts a new conversation.
func TestDiagnoseAfterTheEnd(t *testing.T) {
	r := builtinRunner(t)
	for _, after := range []string{"thanks!", "ok", "👍", "stop", "thank you so much", "great, bye"} {
		w := newWalk(t, r)
		w.say("hi")
		w.run(map[string]string{"icloud_access": "off", "fix_icloud_access": "yes"})
		turn := w.say(after)
		text := allText(turn)
		if !w.s.Done || strings.Contains(text, "Let's get your WhatsApp") || len(turn.Replies) != 1 || len(text) > 200 {
			t.Errorf("%q after the end: done=%v step=%s\n%s", after, w.s.Done, w.s.Step, text)
		}
		if len(turn.Outcomes) != 0 {
			t.Errorf("%q after the end recorded another ending: %+v", after, turn.Outcomes)
		}
	}
	w := newWalk(t, r)
	w.say("hi")
	w.say("stop")
	turn := w.say("it failed again")
	if w.s.Done || !strings.Contains(allText(turn), "Let's get your WhatsApp") {
		t.Errorf("a new problem after the end did not start a new conversation:\n%s", allText(turn))
	}
}

// Item 8: skipping the free-space question keeps the storage fix on the
// path.
func TestDiagnoseSkippedSpaceKeepsStorageFix(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(with(healthy(), "free_space", "skip", "videos", "off"))
	if !w.s.Done {
		t.Fatalf("did not end: %v", w.steps)
	}
	g := w.r.Guide(w.s.Guide)
	found := false
	for _, step := range w.steps {
		if cs := g.steps[step]; cs != nil && cs.Kind == KindFix && strings.Contains(g.render(cs.Text, cs.text, w.s), "twice its size") {
			found = true
		}
		if strings.HasPrefix(step, "fix_storage") {
			found = true
		}
	}
	if !found {
		t.Errorf("skipping the free space made the storage fix unreachable: %v", w.steps)
	}
}

// Item 9: a person whose Back Up Now works but whose automatic backups never
// happen reaches the Auto Backup advice quickly, by words or by answers.
func TestDiagnoseAutoBackup(t *testing.T) {
	r := builtinRunner(t)
	w := newWalk(t, r)
	w.say("back up now works but automatic backups never happen")
	if w.s.Step != "fix_auto_backup" {
		t.Errorf("opening words: step %s, want fix_auto_backup", w.s.Step)
	}
	w = newWalk(t, r)
	w.say("my whatsapp backup isn't working")
	w.run(map[string]string{"icloud_access": "on", "symptom": "back up now works, only the automatic backups don't happen"})
	if i := slices.Index(w.steps, "fix_auto_backup"); i < 0 || i > 2 {
		t.Errorf("answers: steps %v, want fix_auto_backup after two answers", w.steps)
	}
	if text := w.all(); !strings.Contains(text, "Auto Backup") || !strings.Contains(text, "Wi-Fi") || !strings.Contains(text, "charging") {
		t.Errorf("the auto backup advice lacks Auto Backup, Wi-Fi or charging:\n%s", text)
	}
}

// The iPhone's own free space is part of the diagnosis.
func TestDiagnosePhoneSpace(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(with(healthy(), "phone_space", "no", "fix_phone_storage", "yes"))
	if !w.visited("fix_phone_storage") || w.s.Outcome != bot.OutcomeResolved {
		t.Errorf("too little space on the phone did not lead to its fix: %v", w.steps)
	}
	if !strings.Contains(w.all(), "iPhone Storage") {
		t.Errorf("no pointer to Settings → General → iPhone Storage:\n%s", w.all())
	}
}

func runnerWithValues(t *testing.T, values map[string]string) *Runner {
	t.Helper()
	set, err := LoadSet(nil, map[string]map[string]string{"whatsapp-icloud": values}, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(set.Guides, "whatsapp-icloud")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// After a first-message jump to a fix that does not help, the questions it
// skipped are asked, and no fix is offered twice.
func TestDiagnoseJumpAsksWhatItSkipped(t *testing.T) {
	w := newWalk(t, builtinRunner(t))
	w.say("it says not enough iCloud storage")
	if w.s.Step != "fix_storage" {
		t.Fatalf("opening words landed on %s", w.s.Step)
	}
	turn := w.say("no")
	if w.s.Step != "icloud_access" || !strings.Contains(allText(turn), "Let me ask a few questions") {
		t.Fatalf("after the jumped fix failed: step %s\n%s", w.s.Step, allText(turn))
	}
	w.run(with(healthy(), "free_space", "5 GB", "backup_size", "3 GB", "videos", "on"))
	tries := 0
	for _, step := range w.steps {
		if step == "fix_storage" || step == "fix_storage_unknown" {
			tries++
		}
	}
	if tries != 1 || !w.visited("phone_space") || !w.visited("symptom") {
		t.Errorf("storage fix offered %d times; steps %v", tries, w.steps)
	}
	// A stuck backup gets the manual backup first, and never again later.
	w = newWalk(t, builtinRunner(t))
	w.say("hi")
	w.run(with(healthy(), "symptom", "it starts but never finishes"))
	n := 0
	for _, step := range w.steps {
		if step == "fix_manual" || step == "fix_manual_first" {
			n++
		}
	}
	if !w.visited("fix_manual_first") || n != 1 {
		t.Errorf("manual backup offered %d times; steps %v", n, w.steps)
	}
}

// The guide menu takes a guide's name as typed ("whatsapp", "the discord
// one"), as well as its number, its words and a click.
func TestMenuTakesAGuidesName(t *testing.T) {
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	for pick, guide := range map[string]string{
		"whatsapp": "whatsapp-icloud", "the whatsapp one": "whatsapp-icloud", "WhatsApp please": "whatsapp-icloud",
		"discord": "discord-notifications", "the discord one": "discord-notifications", "2": "whatsapp-icloud",
		"my whatsapp backup fails": "whatsapp-icloud",
	} {
		w := newWalk(t, r)
		w.say("hi")
		if w.s.Step != MenuStep {
			t.Fatalf("hi with two guides: step %s, want the menu", w.s.Step)
		}
		w.say(pick)
		if w.s.Guide != guide {
			t.Errorf("%q at the menu started %q, want %q\n%s", pick, w.s.Guide, guide, allText(w.last))
		}
	}
	w := newWalk(t, r)
	w.say("hi")
	w.say("the one about printers")
	if w.s.Step != MenuStep || !strings.Contains(allText(w.last), "didn't catch") {
		t.Errorf("an unknown pick left the menu: step %s\n%s", w.s.Step, allText(w.last))
	}
}

// Issue 16 items 9 and 15: how to answer is worded for the platform:
// numbers where choices are numbered (the terminal), buttons elsewhere.
func TestHintsAreWordedPerPlatform(t *testing.T) {
	r := builtinRunner(t)
	for platform, want := range map[string][2]string{
		"console": {"type its number", "tap"},
		"slack":   {"tap its button", "number"},
		"discord": {"tap its button", "number"},
	} {
		s := &bot.Session{Key: "k", Address: bot.Address{Platform: platform}}
		var turn bot.Turn
		for _, text := range []string{"hi", "purple"} {
			var err error
			if turn, err = r.Respond(s, bot.Message{Address: s.Address, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		reask := turn.Replies[0].Text
		if !strings.Contains(reask, want[0]) || strings.Contains(reask, want[1]) {
			t.Errorf("%s re-ask %q: want %q and no %q", platform, reask, want[0], want[1])
		}
		turn, err := r.Respond(s, bot.Message{Address: s.Address, Text: "help"})
		if err != nil {
			t.Fatal(err)
		}
		help := allText(turn)
		if platform == "console" && (strings.Contains(help, "button") || !strings.Contains(help, "number")) ||
			platform != "console" && (!strings.Contains(help, "button") || strings.Contains(help, "number")) {
			t.Errorf("%s help:\n%s", platform, help)
		}
	}
}
