package answer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHostile feeds every parser long, junk-filled input: none may panic,
// and each must stay fast.
func TestHostile(t *testing.T) {
	inputs := []string{
		strings.Repeat("\x00", 100_000),
		strings.Repeat("\u200b", 100_000/3),
		strings.Repeat("\u202e", 100_000/3) + "yes",
		strings.Repeat("yes ", 25_000),
		strings.Repeat("9", 100_000),
		strings.Repeat("9.", 50_000),
		strings.Repeat("1,000", 20_000) + " GB",
		strings.Repeat("👍🏽", 12_500),
		strings.Repeat("a", 100_000),
		strings.Repeat(" ", 100_000),
		strings.Repeat("\xff", 100_000),
		strings.Repeat("no ", 33_333),
		strings.Repeat("?", 100_000),
		strings.Repeat("a😀", 20_000),
	}
	opts := append([]Option{{ID: "long", Label: strings.Repeat("yes ", 1000)}}, guideOptions...)
	for _, in := range inputs {
		n := Normalize(in)
		if len(n) > MaxLen || !utf8.ValidString(n) {
			t.Errorf("Normalize(%.20q…): len %d, valid %v", in, len(n), utf8.ValidString(n))
		}
		YesNo(in)
		Unsure(in)
		ParseCommand(in)
		Size(in)
		Version(in)
		Number(in)
		MatchChoice(in, opts)
		CompareVersions(in, in)
	}
}

// TestNoAllocs pins the hot path: the usual answers cost no allocation.
func TestNoAllocs(t *testing.T) {
	checks := map[string]func(){
		"YesNo":        func() { YesNo("Yes, it worked 👍") },
		"Unsure":       func() { Unsure("I'm not sure") },
		"ParseCommand": func() { ParseCommand("/help") },
		"Size":         func() { Size("about 3.2 GB") },
		"Number":       func() { Number("about 10") },
		"Version":      func() { Version("iOS 17.4.1") },
		"MatchChoice":  func() { MatchChoice("yes it's green", guideOptions) },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, n)
		}
	}
}
