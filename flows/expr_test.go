package flows

import (
	"strings"
	"testing"
)

func TestTwiceRule(t *testing.T) {
	r := builtinRunner(t)
	cases := []struct {
		backup, free, step string
	}{
		{"3 GB", "5 GB", "fix_storage"},
		{"3 GB", "6 GB", "phone_space"},
		{"3.2 GB", "6400 MB", "phone_space"},
		{"3,2 GB", "6.3 GB", "fix_storage"},
		{"800mb", "about 1.5GB", "fix_storage"},
		{"512 MB", "2 TB", "phone_space"},
	}
	for _, c := range cases {
		s, turn := chat(t, r, "my backup fails", "on", "fails", c.backup, c.free)
		if s.Step != c.step {
			t.Errorf("backup %s, free %s: step %s, want %s\n%s", c.backup, c.free, s.Step, c.step, allText(turn))
		}
	}
	_, turn := chat(t, r, "hi", "on", "fails", "3 GB", "5 GB")
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
		{cur["current_ios"], cur["current_whatsapp"], "apple_status"},
		{"I'm on 16", cur["current_whatsapp"], "fix_update"},
		{cur["current_ios"], "2.24.21.77", "fix_update"},
		{"99.1", "99.0", "apple_status"},
	}
	for _, c := range cases {
		s, turn := chat(t, r, "hi", "on", "fails", "1 GB", "10 GB", "yes", c.ios, c.wa)
		if s.Step != c.step {
			t.Errorf("iOS %s, WhatsApp %s: step %s, want %s\n%s", c.ios, c.wa, s.Step, c.step, allText(turn))
		}
	}
}

func TestSkippedSizesLeaveTheCheckUnknown(t *testing.T) {
	r := builtinRunner(t)
	s, _ := chat(t, r, "hi", "on", "fails", "skip", "skip")
	if s.Step != "phone_space" {
		t.Errorf("after skipping both sizes: step %s, want phone_space", s.Step)
	}
	if s.Answers["@storage_check"] != "unknown" {
		t.Errorf("storage verdict %q, want unknown", s.Answers["@storage_check"])
	}
}
