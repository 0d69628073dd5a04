package flows

import (
	"strings"
	"testing"

	"troubleshooter/bot"
)

func TestReloadKeepsConversationsOnTheirVersion(t *testing.T) {
	r := builtinRunner(t)
	old, _ := chat(t, r, "hi", "on", "fails")
	if old.Step != "backup_size" || old.GuideVersion != "2" {
		t.Fatalf("setup: %s v%s", old.Step, old.GuideVersion)
	}
	v2 := compileVariant(t, "3", "How much iCloud space do you have free?", "How much free space does iCloud show?")
	if err := r.Reload([]*Compiled{v2}, ""); err != nil {
		t.Fatal(err)
	}
	turn, err := r.Respond(old, bot.Message{Text: "3 GB"})
	if err != nil {
		t.Fatal(err)
	}
	if old.GuideVersion != "2" || !strings.Contains(allText(turn), "How much iCloud space do you have free?") {
		t.Errorf("the old conversation moved to v%s:\n%s", old.GuideVersion, allText(turn))
	}
	fresh, turn := chat(t, r, "hi", "on", "fails", "3 GB")
	if fresh.GuideVersion != "3" || !strings.Contains(allText(turn), "How much free space does iCloud show?") {
		t.Errorf("a new conversation is on v%s:\n%s", fresh.GuideVersion, allText(turn))
	}
	// A failed reload changes nothing.
	if err := r.Reload([]*Compiled{v2, v2}, ""); err == nil {
		t.Error("a reload with a duplicate guide id was accepted")
	}
	if err := r.Reload([]*Compiled{v2}, "nope"); err == nil {
		t.Error("a reload with an unknown default was accepted")
	}
	if got := r.Guide("whatsapp-icloud").Guide.Version; got != "3" {
		t.Errorf("after failed reloads the guide is v%s", got)
	}
}

func TestConcurrentReloadAndConversations(t *testing.T) {
	r := builtinRunner(t)
	v2 := compileVariant(t, "3", "First: is WhatsApp", "To begin: is WhatsApp")
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
		s, _ := chat(t, r, "hi", "on", "fails", "3 GB", "5 GB")
		if s.Step != "fix_storage" {
			t.Errorf("step %s during reloads", s.Step)
		}
	}
	<-done
}
