package flows

import (
	"strings"
	"testing"
)

func TestBackUndoesAnswers(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "fails", "3 GB", "5 GB", "back")
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

func TestBackPastACheckForgetsItsVerdict(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "fails", "3 GB", "5 GB")
	if s.Answers["@storage_check"] != "false" {
		t.Fatalf("verdict %q", s.Answers["@storage_check"])
	}
	s2, turn := chat(t, r, "hi", "on", "fails", "3 GB", "5 GB", "back", "status")
	if s2.Step != "free_space" {
		t.Fatalf("back went to %s", s2.Step)
	}
	if _, ok := s2.Answers["@storage_check"]; ok || strings.Contains(allText(turn), "Enough free iCloud space") {
		t.Errorf("status after going back still shows the old verdict:\n%s", allText(turn))
	}
	s3, _ := chat(t, r, "hi", "on", "fails", "3 GB", "5 GB", "back", "6 GB")
	if s3.Step != "phone_space" || s3.Answers["@storage_check"] != "true" {
		t.Errorf("after a new answer: step %s verdict %q", s3.Step, s3.Answers["@storage_check"])
	}
}
