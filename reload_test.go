package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
