package flows

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// builtinGuide returns the compiled built-in guide id.
func builtinGuide(t *testing.T, id string) *Compiled {
	t.Helper()
	set, err := LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range set.Guides {
		if c.Guide.ID == id {
			return c
		}
	}
	t.Fatalf("no built-in guide %q", id)
	return nil
}

// TestPathsFilesAreCurrent regenerates flows/<id>.paths.md and compares;
// UPDATE_PATHS=1 rewrites the files instead.
func TestPathsFilesAreCurrent(t *testing.T) {
	for _, id := range []string{"whatsapp-icloud", "discord-notifications"} {
		c := builtinGuide(t, id)
		var b bytes.Buffer
		if err := WritePathsMarkdown(&b, c); err != nil {
			t.Fatal(err)
		}
		file := id + ".paths.md"
		if os.Getenv("UPDATE_PATHS") == "1" {
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run UPDATE_PATHS=1 go test -run PathsFilesAreCurrent ./flows/)", err)
		}
		if !bytes.Equal(old, b.Bytes()) {
			t.Errorf("flows/%s is out of date: run `troubleshooter flows paths %s`, or UPDATE_PATHS=1 go test -run PathsFilesAreCurrent ./flows/", file, id)
		}
	}
}

// pathRule is one fact a path must follow; it returns why p breaks it, or "".
type pathRule struct {
	name  string
	check func(c *Compiled, p Path) string
}

// saves lists the answer names of the fixes p offers, in order.
func saves(c *Compiled, p Path) []string {
	out := make([]string, len(p.Fixes))
	for i, f := range p.Fixes {
		out[i] = c.steps[f].save
	}
	return out
}

func answerIs(p Path, step string, want ...string) bool {
	got, ok := p.Answer(step)
	return ok && slices.Contains(want, got)
}

// Rules every guide's paths follow.
var commonPathRules = []pathRule{
	{"no fix is offered twice (one answer name is one fix)", func(c *Compiled, p Path) string {
		seen := map[string]string{}
		for _, f := range p.Fixes {
			s := c.steps[f].save
			if prev, dup := seen[s]; dup {
				return fmt.Sprintf("%s is offered again as %s", prev, f)
			}
			seen[s] = f
		}
		return ""
	}},
	{"every path that does not wait ends resolved or escalated", func(c *Compiled, p Path) string {
		switch p.Outcome {
		case PathWaits:
			return ""
		case PathResolved:
			if p.FixedBy == "" || p.FixedBy != p.Fixes[len(p.Fixes)-1] {
				return "resolved without the last fix offered being the one that helped"
			}
			return ""
		case PathEscalated:
			return ""
		}
		return "ends " + p.Outcome + " at " + p.End
	}},
}

// lastFix is the rule that fix (the drastic one) is always the last offered.
func lastFix(fix string) pathRule {
	return pathRule{fix + " (the drastic one) is always the last fix offered", func(c *Compiled, p Path) string {
		if i := p.FixIndex(fix); i >= 0 && i != len(p.Fixes)-1 {
			return fmt.Sprintf("%s is followed by %v", fix, p.Fixes[i+1:])
		}
		return ""
	}}
}

// onlyWhen is the rule that fix is offered only after step was answered
// with one of want.
func onlyWhen(fix, step string, want ...string) pathRule {
	return pathRule{fmt.Sprintf("%s only when %s is %s", fix, step, strings.Join(want, " or ")), func(c *Compiled, p Path) string {
		if p.FixIndex(fix) < 0 {
			return ""
		}
		got, ok := p.Answer(step)
		if !ok || !slices.Contains(want, got) || p.AnswersBefore(fix) < 0 {
			return fmt.Sprintf("%s is offered but %s is %q", fix, step, got)
		}
		for _, s := range p.Steps {
			if s.Step == fix {
				return fmt.Sprintf("%s is offered before %s is answered", fix, step)
			}
			if s.Step == step {
				return ""
			}
		}
		return ""
	}}
}

// whatsappPathRules are the facts of /work/shared/guide/whatsapp-icloud-backup.md
// as rules over one path.
var whatsappPathRules = append(slices.Clone(commonPathRules),
	lastFix("fix_delete_backup"),
	onlyWhen("fix_icloud_access", "icloud_access", "off"),
	onlyWhen("fix_icloud_signin", "icloud_access", "missing"),
	onlyWhen("fix_auto_backup", "symptom", "auto_only"),
	onlyWhen("fix_update", "versions_check", "false", "unknown"),
	onlyWhen("fix_storage", "storage_check", "false"),
	onlyWhen("fix_storage_unknown", "storage_check", "unknown"),
	onlyWhen("fix_phone_storage", "phone_space", "no"),
	onlyWhen("fix_phone_storage_unknown", "phone_space", PathSkipped),
	onlyWhen("fix_videos", "videos", "on", PathSkipped),
	onlyWhen("fix_backup_after_outage", "outage_wait", "green_now"),
	pathRule{"WhatsApp missing from the list: sign-in and iCloud Drive come before the switch", func(c *Compiled, p Path) string {
		if !answerIs(p, "icloud_access", "missing") {
			return ""
		}
		a, s := p.FixIndex("fix_icloud_access"), p.FixIndex("fix_icloud_signin")
		if a >= 0 && (s < 0 || s > a) {
			return "fix_icloud_access is offered before fix_icloud_signin"
		}
		return ""
	}},
	pathRule{"an iCloud outage is a wait: no fix until Apple's status is green again", func(c *Compiled, p Path) string {
		waiting := false
		for _, s := range p.Steps {
			switch {
			case s.Step == "apple_status" && s.Event == "not_green":
				waiting = true
			case s.Step == "outage_wait" && s.Event == "green_now":
				waiting = false
			case waiting && s.Kind == KindFix:
				return s.Step + " is offered while Apple's iCloud Backup status is not green"
			}
		}
		if p.Outcome == PathWaits && !answerIs(p, "outage_wait", "still_down") {
			return "waits anywhere but at Apple's outage"
		}
		return ""
	}},
	pathRule{"a check of sizes or versions is unknown exactly when one of its inputs was skipped", func(c *Compiled, p Path) string {
		for check, inputs := range map[string][]string{
			"storage_check":   {"backup_size", "free_space"},
			"storage_recheck": {"backup_size", "free_space"},
			"versions_check":  {"ios_version", "whatsapp_version"},
		} {
			v, ok := p.Answer(check)
			if !ok {
				continue
			}
			skipped := false
			for _, in := range inputs {
				skipped = skipped || !answerIs(p, in, PathAnswered)
			}
			if skipped != (v == eventUnknown) {
				return fmt.Sprintf("%s is %s with %v answered %v", check, v, inputs, !skipped)
			}
		}
		if a, ok := p.Answer("storage_check"); ok {
			if b, ok := p.Answer("storage_recheck"); ok && a != b {
				return fmt.Sprintf("storage_check is %s but storage_recheck is %s on the same answers", a, b)
			}
		}
		return ""
	}},
	pathRule{"skipped sizes keep a storage fix on the path", func(c *Compiled, p Path) string {
		if p.Outcome != PathEscalated || answerIs(p, "free_space", PathAnswered) && answerIs(p, "backup_size", PathAnswered) || answerIs(p, "symptom", "auto_only") {
			return ""
		}
		if !slices.Contains(saves(c, p), "make_room") {
			return "escalated without any iCloud storage fix although a size was skipped"
		}
		return ""
	}},
	pathRule{"only automatic backups fail: fix_auto_backup within the first 2 answers", func(c *Compiled, p Path) string {
		if !answerIs(p, "symptom", "auto_only") {
			return ""
		}
		if n := p.AnswersBefore("fix_auto_backup"); n < 0 || n > 2 {
			return fmt.Sprintf("fix_auto_backup is offered after %d answers", n)
		}
		return ""
	}},
	pathRule{"an escalated path has tried every fix its answers make applicable", func(c *Compiled, p Path) string {
		if p.Outcome != PathEscalated {
			return ""
		}
		need := []string{"manual_backup", "restart_phone", "fix_delete_backup"}
		if answerIs(p, "symptom", "auto_only") {
			// Back Up Now works: only the restart applies besides the
			// Auto Backup fix itself.
			need = []string{"restart_phone"}
		}
		if answerIs(p, "outage_wait", "green_now") {
			// The backup after the outage is Back Up Now with WhatsApp
			// open: the manual backup, already tried.
			need = slices.DeleteFunc(need, func(f string) bool { return f == "manual_backup" })
		}
		when := []struct{ step, answer, fix string }{
			{"icloud_access", "off", "fix_icloud_access"},
			{"icloud_access", "missing", "fix_icloud_signin"},
			{"symptom", "auto_only", "fix_auto_backup"},
			{"storage_check", "false", "make_room"},
			{"storage_check", "unknown", "make_room"},
			{"phone_space", "no", "phone_room"},
			{"phone_space", PathSkipped, "phone_room"},
			{"versions_check", "false", "fix_update"},
			{"versions_check", "unknown", "fix_update"},
			{"outage_wait", "green_now", "fix_backup_after_outage"},
			{"videos", "on", "fix_videos"},
		}
		for _, w := range when {
			if answerIs(p, w.step, w.answer) {
				need = append(need, w.fix)
			}
		}
		got := saves(c, p)
		var missing []string
		for _, n := range need {
			if !slices.Contains(got, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("escalated without %v", missing)
		}
		return ""
	}},
)

// whatsappPathFindings were found by the audit and fixed in the guide;
// they now hold as rules (appended to whatsappPathRules in init). New
// findings can be logged here before the guide changes.
var whatsappPathFindings = []pathRule{}

func init() { whatsappPathRules = append(whatsappPathRules, auditFindings...) }

// auditFindings are what the first run of the audit found.
var auditFindings = []pathRule{
	{"Back Up Now works (auto_only): no manual backup and no deleting the iCloud backup", func(c *Compiled, p Path) string {
		if !answerIs(p, "symptom", "auto_only") {
			return ""
		}
		for _, f := range []string{"fix_manual", "fix_delete_backup"} {
			if p.FixIndex(f) >= 0 {
				return f + " is offered although Back Up Now works"
			}
		}
		return ""
	}},
	{"the same Back Up Now instructions are not offered twice in a row", func(c *Compiled, p Path) string {
		for i := 1; i < len(p.Fixes); i++ {
			if p.Fixes[i-1] == "fix_backup_after_outage" && p.Fixes[i] == "fix_manual" {
				return "fix_manual repeats fix_backup_after_outage"
			}
		}
		return ""
	}},
	{"skipped iPhone space keeps the iPhone storage fix", func(c *Compiled, p Path) string {
		if p.Outcome == PathEscalated && answerIs(p, "phone_space", PathSkipped) && !slices.Contains(saves(c, p), "phone_room") {
			return "escalated without fix_phone_storage although iPhone space was skipped"
		}
		return ""
	}},
	{"skipped videos keeps the videos fix before the drastic one", func(c *Compiled, p Path) string {
		if answerIs(p, "videos", PathSkipped) && p.FixIndex("fix_delete_backup") >= 0 && p.FixIndex("fix_videos") < 0 {
			return "fix_delete_backup without fix_videos although videos was skipped"
		}
		return ""
	}},
}

var discordPathRules = append(slices.Clone(commonPathRules), lastFix("fix_reinstall"))

// auditPaths checks every path of c against rules and reports each broken
// rule with the first paths that break it.
func auditPaths(t *testing.T, c *Compiled, rules []pathRule) {
	t.Helper()
	paths, capped := EnumeratePaths(c, MaxPaths)
	if capped {
		t.Fatalf("%s: more than %d paths", c.Guide.ID, MaxPaths)
	}
	wrong := 0
	broken := map[string]int{}
	for i, p := range paths {
		bad := false
		for _, r := range rules {
			why := r.check(c, p)
			if why == "" {
				continue
			}
			bad = true
			if broken[r.name]++; broken[r.name] <= 3 {
				t.Errorf("%s path %d breaks %q: %s\n    %s", c.Guide.ID, i+1, r.name, why, p)
			}
		}
		if bad {
			wrong++
		}
	}
	for name, n := range broken {
		t.Errorf("%s: %d paths break %q", c.Guide.ID, n, name)
	}
	t.Logf("%s: %d paths checked against %d rules, %d wrong", c.Guide.ID, len(paths), len(rules), wrong)
}

// logFindings logs how many paths each finding concerns, with an example.
func logFindings(t *testing.T, c *Compiled, findings []pathRule) {
	t.Helper()
	paths := Paths(c)
	for _, f := range findings {
		n, example := 0, ""
		for _, p := range paths {
			if why := f.check(c, p); why != "" {
				if n++; n == 1 {
					example = why + "\n    " + p.String()
				}
			}
		}
		if n > 0 {
			t.Logf("%s: finding %q on %d paths, e.g. %s", c.Guide.ID, f.name, n, example)
		}
	}
}

// TestPathsFollowTheFacts checks every path of the WhatsApp guide against
// the guide's facts.
func TestPathsFollowTheFacts(t *testing.T) {
	c := builtinGuide(t, "whatsapp-icloud")
	auditPaths(t, c, whatsappPathRules)
	logFindings(t, c, whatsappPathFindings)
}

// TestPathsDiscord checks every path of the Discord guide.
func TestPathsDiscord(t *testing.T) {
	auditPaths(t, builtinGuide(t, "discord-notifications"), discordPathRules)
}

// TestPathsMechanics walks a small guide: a self-loop waits, a fix shared
// by two steps is offered once, a recheck agrees with the check, a check
// of choices is evaluated, a skipped input makes the check unknown.
func TestPathsMechanics(t *testing.T) {
	src := `id: t
version: "1"
title: T
intro: hi
start: q
steps:
  - id: q
    kind: ask
    text: q?
    skip: size
    choices:
      - {id: a, label: A, next: fix_one}
      - {id: b, label: B, next: wait}
  - id: wait
    kind: ask
    text: wait?
    choices:
      - {id: done, label: Done, next: size}
      - {id: again, label: Again, next: wait}
  - id: fix_one
    kind: fix
    save: one
    text: one
    next: size
  - id: size
    kind: input
    input: number
    text: size?
    next: c1
  - id: c1
    kind: check
    if: size > 2
    then: c2
    else: c2
    unknown: c2
  - id: c2
    kind: check
    if: size > 2
    then: c3
    else: c3
    unknown: c3
  - id: c3
    kind: check
    if: q == "a"
    then: fix_one_again
    else: escalate
  - id: fix_one_again
    kind: fix
    save: one
    text: one again
    next: escalate
  - id: resolved
    kind: end
    outcome: resolved
    text: ok
  - id: escalate
    kind: end
    outcome: escalated
    text: bye
`
	g, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range Paths(c) {
		got = append(got, p.String())
	}
	want := []string{
		"q=a → [fix_one: fixed] → resolved (resolved)",
		"q=a → [fix_one: not fixed] → size=answered → c1=true → c2=true → c3=true → escalated (escalate)",
		"q=a → [fix_one: not fixed] → size=answered → c1=false → c2=false → c3=true → escalated (escalate)",
		"q=a → [fix_one: not fixed] → size=skipped → c1=unknown → c2=unknown → c3=true → escalated (escalate)",
		"q=b → wait=done → size=answered → c1=true → c2=true → c3=false → escalated (escalate)",
		"q=b → wait=done → size=answered → c1=false → c2=false → c3=false → escalated (escalate)",
		"q=b → wait=done → size=skipped → c1=unknown → c2=unknown → c3=false → escalated (escalate)",
		"q=b → wait=again → waits (wait)",
		"q=skipped → size=answered → c1=true → c2=true → c3=unknown → escalated (escalate)",
		"q=skipped → size=answered → c1=false → c2=false → c3=unknown → escalated (escalate)",
		"q=skipped → size=skipped → c1=unknown → c2=unknown → c3=unknown → escalated (escalate)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, capped := EnumeratePaths(c, 3); !capped {
		t.Error("a limit of 3 paths did not cap 11")
	}
	var b bytes.Buffer
	if err := WritePathsMarkdown(&b, c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"do not edit by hand", "troubleshooter flows paths t", "q: skipped", "waits at wait (again)", "resolved by any fix listed, else escalated"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, b.String())
		}
	}
}
