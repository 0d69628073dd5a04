package bot

import "testing"

func TestRefFieldRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a|b", "100%", "%7C|%25", "|||"} {
		e := EscapeRefField(s)
		for i := 0; i < len(e); i++ {
			if e[i] == '|' {
				t.Errorf("%q escaped to %q, which holds a separator", s, e)
			}
		}
		if got, err := UnescapeRefField(e); err != nil || got != s {
			t.Errorf("%q → %q → %q, %v", s, e, got, err)
		}
	}
	for _, bad := range []string{"%", "%2", "%41", "a%7"} {
		if _, err := UnescapeRefField(bad); err == nil {
			t.Errorf("%q unescaped without error", bad)
		}
	}
}

func FuzzRefField(f *testing.F) {
	f.Add("a|b%c")
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := UnescapeRefField(EscapeRefField(s)); err != nil || got != s {
			t.Fatalf("%q round-trips to %q, %v", s, got, err)
		}
		_, _ = UnescapeRefField(s) // must not panic on anything
	})
}
