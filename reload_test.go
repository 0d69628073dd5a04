package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flowscli"
)

const extraGuide = `id: printer
version: "%s"
title: Printer
start: power
steps:
  - id: power
    kind: fix
    text: %s
    next: giveup
  - id: done
    kind: end
    outcome: resolved
    text: Great.
  - id: giveup
    kind: end
    outcome: escalated
    text: Sorry.
`

func TestReloadRejectsABrokenGuideAndKeepsServing(t *testing.T) {
	dir := t.TempDir()
	guide := filepath.Join(dir, "printer.yaml")
	write := func(body string) {
		if err := os.WriteFile(guide, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.Replace(strings.Replace(extraGuide, "%s", "1", 1), "%s", "Turn it off and on.", 1))
	a, err := newApp(tempConfig(t, "guides:\n  files: ["+guide+"]\n"), true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if a.runner.Guide("printer").Guide.Version != "1" {
		t.Fatal("setup: printer v1 not loaded")
	}
	stamp := a.guideFileStamps()

	write("id: printer\nversion: \"2\"\nstart: nowhere\nsteps: []\n")
	if a.guideFileStamps() == stamp {
		t.Error("a changed guide file is not noticed")
	}
	err = a.reloadGuides()
	if err == nil || !strings.Contains(err.Error(), "old ones keep serving") || !strings.Contains(err.Error(), "printer.yaml") {
		t.Fatalf("broken guide: %v", err)
	}
	if v := a.runner.Guide("printer").Guide.Version; v != "1" {
		t.Errorf("after a rejected reload the guide is v%s", v)
	}

	write(strings.Replace(strings.Replace(extraGuide, "%s", "2", 1), "%s", "Unplug it for a minute.", 1))
	if err := a.reloadGuides(); err != nil {
		t.Fatal(err)
	}
	if v := a.runner.Guide("printer").Guide.Version; v != "2" {
		t.Errorf("after a good reload the guide is v%s", v)
	}
	if a.runner.Guide("whatsapp-icloud") == nil {
		t.Error("the built-in guide vanished in the reload")
	}
}

// hostileGuideFiles are guide files written to take the process down: the
// parser's recursion (deep "- - -", indentation), alias expansion, and
// texts that grow without bound when a person reaches them.
func hostileGuideFiles() map[string]string {
	head := "id: printer\nversion: \"9\"\ntitle: Printer\nstart: power\n"
	text := func(t string) string {
		return strings.Replace(strings.Replace(extraGuide, "%s", "9", 1), "%s", `"`+t+`"`, 1)
	}
	var indented strings.Builder
	indented.WriteString(head + "steps:\n")
	for i := range 600 {
		indented.WriteString(strings.Repeat(" ", 2*i) + "-\n")
	}
	return map[string]string{
		"deep dashes 40 KB":  head + "steps:\n" + strings.Repeat("- ", 20_000) + "x\n",
		"deep dashes 300 KB": head + "steps:\n" + strings.Repeat("- ", 150_000) + "x\n",
		"deep indentation":   indented.String(),
		"deep brackets":      head + "steps: " + strings.Repeat("[", 100_000) + "\n",
		"alias bomb":         head + "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nsteps: [*c,*c]\n",
		"range 300000000":    text("{{range 300000000}}x{{end}}"),
		"range 2000000000":   text("{{range 2000000000}}{{end}}"),
		"printf width":       text(`{{printf \"%999999999d\" 1}}`),
	}
}

// boundHostile runs f, logs its time and allocation, and fails the test
// past 1 s or 50 MB: a hostile file must be refused before it costs more.
func boundHostile(t *testing.T, what string, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%s: %v, %.1f MB allocated", what, took.Round(time.Microsecond), float64(alloc)/(1<<20))
	if took > time.Second || alloc > 50<<20 {
		t.Errorf("%s took %v and %d MB; hostile guides must be refused in < 1 s and < 50 MB", what, took, alloc>>20)
	}
}

// TestHostileGuidesAreRefusedEverywhere puts each hostile guide file
// through `flows check`, through config at start and through a hot reload
// under a running app: each is refused in < 1 s and < 50 MB, and after the
// rejected reload the old guide still answers.
func TestHostileGuidesAreRefusedEverywhere(t *testing.T) {
	for name, src := range hostileGuideFiles() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			guide := filepath.Join(dir, "printer.yaml")
			write := func(body string) {
				if err := os.WriteFile(guide, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			write(src)
			var errOut bytes.Buffer
			var err error
			boundHostile(t, "flows check", func() {
				err = flowscli.Check([]string{guide}, nil, true, io.Discard, &errOut)
			})
			if err == nil || !strings.Contains(errOut.String(), "printer.yaml") {
				t.Errorf("flows check accepted it: %v %.200s", err, errOut.String())
			}

			cfgPath := tempConfig(t, "guides:\n  files: ["+guide+"]\n")
			var started *app
			boundHostile(t, "start", func() { started, err = newApp(cfgPath, true, io.Discard) })
			if err == nil || !strings.Contains(err.Error(), "printer.yaml") {
				t.Errorf("start accepted it: %v", err)
			}
			if started != nil {
				started.close()
			}

			write(strings.Replace(strings.Replace(extraGuide, "%s", "1", 1), "%s", "Turn it off and on.", 1))
			a, err := newApp(cfgPath, true, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			write(src)
			boundHostile(t, "hot reload", func() { err = a.reloadGuides() })
			if err == nil || !strings.Contains(err.Error(), "old ones keep serving") {
				t.Errorf("hot reload accepted it: %v", err)
			}
			if v := a.runner.Guide("printer").Guide.Version; v != "1" {
				t.Errorf("after the rejected reload the guide is v%s", v)
			}
			s := &bot.Session{Key: "k"}
			turn, err := a.runner.Respond(s, bot.Message{Text: "printer", Time: time.Now()})
			if err != nil || len(turn.Replies) == 0 {
				t.Fatalf("the old guides no longer answer: %v %+v", err, turn)
			}
		})
	}
}
