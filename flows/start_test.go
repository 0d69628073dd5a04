package flows

import (
	"testing"
)

func TestFirstMessageJumps(t *testing.T) {
	r := builtinRunner(t)
	cases := map[string]string{
		"it says not enough iCloud storage":      "fix_storage",
		"the WhatsApp switch in iCloud is off":   "fix_icloud_access",
		"my WhatsApp backup keeps failing":       "icloud_access",
		"the backup is stuck and never finishes": "fix_manual_first",
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
