package answer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("a", MaxLen+10)
	tests := []struct{ in, want string }{
		{"", ""},
		{"yes", "yes"},
		{"  YES  ", "yes"},
		{"Hello\t\n  World", "hello world"},
		{"it’s ON", "it's on"},
		{"‘quoted’ “double”", "'quoted' \"double\""},
		{"ye\u200bs", "yes"},       // zero-width space
		{"\u202eon\u202c", "on"},   // right-to-left override
		{"a\u2066b\u2069c", "abc"}, // bidi isolates
		{"\ufeffhelp", "help"},     // byte-order mark
		{"n\x00o\x07", "no"},       // control characters
		{"a\u00a0\u2003b", "a b"},  // no-break and em spaces
		{"x\xff\xfey", "xy"},       // invalid UTF-8
		{"👍\ufe0f", "👍"},           // variation selector
		{"ÄÖÜ ΣΑΣ", "äöü σασ"},     // non-ASCII case
		{"\u0130", "i̇"[:1]},       // İ lowercases to i in Go
		{"a\u0085b", "a b"},        // NEL is whitespace
		{" \t\r\n ", ""},           // only space
		{"\u200b\u200c\u200d", ""}, // only invisible
		{long, long[:MaxLen]},      // capped
		{strings.Repeat("é", MaxLen), strings.Repeat("é", MaxLen/2)},
		{strings.Repeat("a ", MaxLen), strings.Repeat("a ", MaxLen/2)[:MaxLen-1]}, // no trailing space after cut
	}
	for _, tc := range tests {
		got := Normalize(tc.in)
		if got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := Normalize(got); again != got {
			t.Errorf("Normalize not idempotent on %q: %q then %q", tc.in, got, again)
		}
	}
}

func TestNormalizeCutsOnRuneBoundary(t *testing.T) {
	// 511 ASCII bytes then a 4-byte emoji: the emoji must not be split.
	in := strings.Repeat("a", MaxLen-1) + "👍"
	got := Normalize(in)
	if !utf8.ValidString(got) || len(got) != MaxLen-1 {
		t.Fatalf("Normalize cut badly: len %d valid %v", len(got), utf8.ValidString(got))
	}
}

func TestNormalizeReusesFoldedInput(t *testing.T) {
	for _, in := range []string{"yes it worked", "  padded  "} {
		if n := testing.AllocsPerRun(100, func() { _ = Normalize(in) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times, want 0", in, n)
		}
	}
}

// TestInvisibleFastPath checks that the byte-level shortcut drops exactly
// the runes invisible drops.
func TestInvisibleFastPath(t *testing.T) {
	for r := rune(0x2000); r < 0x3000; r++ {
		var b [4]byte
		n := utf8.EncodeRune(b[:], r)
		fast := n == 3 && b[0] == 0xe2 && invisibleE2(b[1], b[2])
		if fast && !invisible(r) {
			t.Errorf("fast path drops %U, which invisible keeps", r)
		}
	}
}
