// Package answer reads what people type into the troubleshooting chat: yes/no
// answers, "I don't know", commands, storage sizes, version numbers, plain
// numbers and picks from a list of options.
//
// Input is untrusted chat text: any bytes, any length, invisible and
// direction-changing characters, emoji. Every function here accepts anything
// without panicking, reads at most MaxLen bytes of folded text, and keeps its
// working state on the stack, so a call costs about a microsecond at most and
// usually allocates nothing.
package answer

import (
	"unicode"
	"unicode/utf8"
)

// MaxLen caps the folded text in bytes. Answers are short; capping bounds
// the work every parser does and the memory an attacker can make it hold.
const MaxLen = 512

// maxScan caps how much of the input is read. Normally MaxLen bytes of
// output are reached long before; only floods of invisible characters or
// whitespace get this far, and reading 100 KB of those on every call would
// cost a hundred times the budget of a bot step.
const maxScan = 16 * MaxLen

// Normalize folds text for matching: it drops control characters (tab, line
// breaks and other whitespace controls count as whitespace), invisible format
// characters (zero-width spaces and joiners, bidi embeddings, overrides and
// isolates, byte-order marks, soft hyphens), variation selectors and invalid
// UTF-8; trims; lowercases; collapses every run of whitespace to one space;
// folds curly and prime quotes to ASCII (’ → ', “ → "); and caps the result at
// MaxLen bytes, cut on a rune boundary. The result is valid UTF-8, at most
// MaxLen bytes, and Normalize(Normalize(s)) == Normalize(s).
//
// Only the first 8 KB of s are read, so that floods of invisible characters
// stay cheap: text hidden behind more than that is ignored.
//
// Already-folded input is returned as is, without allocating.
func Normalize(s string) string {
	var buf [MaxLen]byte
	n, lead := normalizeInto(&buf, s)
	// Most callers pass text that is already folded (the engine normalises
	// once and hands the result on), so avoid the copy when possible.
	if lead >= 0 && lead+n <= len(s) && string(buf[:n]) == s[lead:lead+n] {
		return s[lead : lead+n]
	}
	return string(buf[:n])
}

// normalizeInto writes Normalize(s) into dst and returns its length, and the
// byte offset in s of the first rune kept (-1 when none), which lets callers
// reuse s when nothing but surrounding space changed.
func normalizeInto(dst *[MaxLen]byte, s string) (n, lead int) {
	lead = -1
	space := false // a space is owed before the next kept rune
	if len(s) > maxScan {
		s = s[:maxScan] // a rune cut in two is dropped as invalid UTF-8
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0xe2 && i+2 < len(s) && invisibleE2(s[i+1], s[i+2]) {
			i += 3 // the usual invisible characters, without decoding: floods of them must stay cheap
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			if c < 0xc2 || c > 0xf4 {
				i++ // never starts a rune: invalid, dropped without decoding
				continue
			}
			r, size = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				i++ // invalid byte: drop it, like any other invisible junk
				continue
			}
		}
		start := i
		i += size
		if c < utf8.RuneSelf {
			switch {
			case c == ' ' || (c >= '\t' && c <= '\r'):
				space = n > 0
				continue
			case c < ' ' || c == 0x7f:
				continue
			case c >= 'A' && c <= 'Z':
				r = rune(c + 'a' - 'A')
			}
		} else {
			switch {
			case unicode.IsSpace(r):
				space = n > 0
				continue
			case invisible(r):
				continue
			}
			r = foldQuote(unicode.ToLower(r))
		}
		w := utf8.RuneLen(r)
		if space {
			w++
		}
		if n+w > MaxLen {
			break
		}
		if space {
			dst[n] = ' '
			n++
			space = false
		}
		if lead < 0 {
			lead = start
		}
		n += utf8.EncodeRune(dst[n:], r)
	}
	return n, lead
}

// invisible reports non-ASCII runes that render as nothing (or only steer
// rendering) and so must not change what a message means: people paste them
// by accident, and attackers use them to dodge matching.
func invisible(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, // zero-width space/joiners, LRM, RLM
		r >= 0x202a && r <= 0x202e,   // bidi embeddings and overrides
		r >= 0x2060 && r <= 0x206f,   // word joiner, bidi isolates, invisible operators
		r == 0xfeff,                  // byte-order mark
		r >= 0xe0000 && r <= 0xe0fff, // tag characters and variation selectors supplement
		r >= 0xfe00 && r <= 0xfe0f,   // variation selectors (emoji vs text style)
		r == 0x034f,                  // combining grapheme joiner
		r == 0x115f || r == 0x1160 || r == 0x3164 || r == 0xffa0: // Hangul fillers, used as blank "letters"
		return true
	case r < 0xa0:
		return true // C1 controls (U+0085 is whitespace and was handled before)
	}
	return unicode.In(r, unicode.Cc, unicode.Cf)
}

// invisibleE2 reports whether the UTF-8 sequence E2 b1 b2 encodes one of
// U+200B–U+200F, U+202A–U+202E or U+2060–U+206F, which invisible also
// drops.
func invisibleE2(b1, b2 byte) bool {
	switch b1 {
	case 0x80:
		return b2 >= 0x8b && b2 <= 0x8f || b2 >= 0xaa && b2 <= 0xae
	case 0x81:
		return b2 >= 0xa0 && b2 <= 0xaf
	}
	return false
}

// foldQuote maps the typographic quotes that phone keyboards insert ("smart
// punctuation") to the ASCII ones people mean, so "it’s" matches "it's".
func foldQuote(r rune) rune {
	switch r {
	case 0x2018, 0x2019, 0x201a, 0x201b, 0x2032, 0x02bc, 0xff07:
		return '\''
	case 0x201c, 0x201d, 0x201e, 0x201f, 0x2033, 0xff02:
		return '"'
	}
	return r
}
