package answer

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// keyCap bounds the key: splitting emoji from words adds at most one space
// per emoji, so twice the folded text always fits.
const keyCap = 2 * MaxLen

// maxTokens bounds the tokens kept. Only contrived text (one-letter words
// between symbols) has more; its tail is ignored, which no real answer notices.
const maxTokens = MaxLen / 2

// Token kinds.
const (
	kindWord  = iota // letters and digits
	kindEmoji        // one symbol rune such as 👍 or ✅
)

type token struct {
	lo, hi uint16 // key[lo:hi]
	clause uint16 // index of the clause the token is in
	kind   uint8
}

// tokens is a message cut into words and emoji for phrase matching. It lives
// on the caller's stack: no parser allocates for it.
//
// The key is the words joined by single spaces with punctuation removed and
// apostrophes inside words dropped ("It’s ON!" → "its on"), so table lookups
// need not list every spelling.
type tokens struct {
	key      [keyCap]byte
	nkey     int
	tok      [maxTokens]token
	n        int
	question [maxTokens + 1]bool // clause i ended with a question mark
	qmark    bool                // the message has a question mark anywhere
	normLen  int                 // bytes of folded text the tokens came from
}

// parse tokenises Normalize(s).
func (t *tokens) parse(s string) {
	var buf [MaxLen]byte
	n, _ := normalizeInto(&buf, s)
	t.scan(buf[:n])
	t.normLen = n
}

// scan tokenises already-normalised text.
func (t *tokens) scan(b []byte) {
	t.nkey, t.n, t.qmark = 0, 0, false
	clause := 0
	clauseUsed := false // the current clause has a token
	inWord := false
	for i := 0; i < len(b); {
		r, size := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		i += size
		switch cls := runeClass(r); cls {
		case classWord:
			if !inWord {
				if !t.start(clause, kindWord) {
					return
				}
				inWord, clauseUsed = true, true
			}
			if !t.put(b[i-size : i]) {
				return
			}
		case classApostrophe:
			// Inside a word ("didn't") the apostrophe vanishes so both
			// spellings match; elsewhere it is a quote and separates.
			if inWord && i < len(b) {
				next, _ := utf8.DecodeRune(b[i:])
				if runeClass(next) == classWord {
					continue
				}
			}
			inWord = false
		case classEmoji:
			if !t.start(clause, kindEmoji) || !t.put(b[i-size:i]) {
				return
			}
			inWord, clauseUsed = false, true
		case classIgnore:
			// Skin tones, gender signs, keycap marks: decoration on the
			// previous emoji or digit, not meaning of their own.
		case classBreak, classQuestion:
			inWord = false
			if cls == classQuestion {
				t.qmark = true
				q := clause
				if !clauseUsed && q > 0 {
					q-- // "on .?" – the mark belongs to the clause before
				}
				t.question[q] = true
			}
			if clauseUsed {
				clause++
				clauseUsed = false
				t.question[clause] = false
			}
		default:
			inWord = false
		}
	}
}

// start opens a new token; false when no room is left.
func (t *tokens) start(clause int, kind uint8) bool {
	if t.n == maxTokens || t.nkey+1 >= keyCap {
		return false
	}
	if t.n == 0 {
		t.question[0] = false
	} else {
		t.key[t.nkey] = ' '
		t.nkey++
	}
	t.tok[t.n] = token{lo: uint16(t.nkey), hi: uint16(t.nkey), clause: uint16(clause), kind: kind}
	t.n++
	return true
}

// put appends bytes to the current token; false when no room is left.
func (t *tokens) put(p []byte) bool {
	if t.nkey+len(p) > keyCap {
		return false
	}
	t.nkey += copy(t.key[t.nkey:], p)
	t.tok[t.n-1].hi = uint16(t.nkey)
	return true
}

// keyBytes is the whole key.
func (t *tokens) keyBytes() []byte { return t.key[:t.nkey] }

// word returns token i's text.
func (t *tokens) word(i int) []byte {
	tk := t.tok[i]
	return t.key[tk.lo:tk.hi]
}

// is reports whether token i exists and reads w.
func (t *tokens) is(i int, w string) bool {
	return i >= 0 && i < t.n && string(t.word(i)) == w
}

// sameClause reports whether tokens i and j both exist and share a clause.
func (t *tokens) sameClause(i, j int) bool {
	return i >= 0 && j >= 0 && i < t.n && j < t.n && t.tok[i].clause == t.tok[j].clause
}

// hasPhrase reports whether the space-separated words of p occur as whole
// tokens, consecutively, somewhere in the key.
func (t *tokens) hasPhrase(p []byte) bool {
	return containsPhrase(t.keyBytes(), p)
}

// containsPhrase reports whether p occurs in key starting and ending on token
// boundaries.
func containsPhrase(key, p []byte) bool {
	if len(p) == 0 {
		return false
	}
	for off := 0; off+len(p) <= len(key); {
		j := bytes.Index(key[off:], p)
		if j < 0 {
			return false
		}
		j += off
		end := j + len(p)
		if (j == 0 || key[j-1] == ' ') && (end == len(key) || key[end] == ' ') {
			return true
		}
		off = j + 1
	}
	return false
}

// Rune classes for tokenising.
const (
	classSeparator = iota // space and punctuation that does not end a clause
	classWord             // letters, digits and combining marks
	classApostrophe
	classEmoji    // pictographs and other symbols that carry meaning alone
	classIgnore   // modifiers that decorate the previous rune
	classBreak    // . , ; : ! … end a clause
	classQuestion // ? ends a clause and makes it a question
)

func runeClass(r rune) int {
	if r < utf8.RuneSelf {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
			return classWord
		case r == '\'' || r == '`':
			return classApostrophe
		case r == '.' || r == ',' || r == ';' || r == ':' || r == '!':
			return classBreak
		case r == '?':
			return classQuestion
		}
		return classSeparator
	}
	switch {
	case r == 0xb4: // ´ typed as an apostrophe on some keyboards
		return classApostrophe
	case r == 0x2026 || r == 0x3002 || r == 0xff0c || r == 0xff01 || r == 0xa1 || r == 0x3001:
		return classBreak // … 。 ， ！ ¡ 、
	case r == 0xff1f || r == 0xbf || r == 0x37e:
		return classQuestion // ？ ¿ ;(Greek question mark)
	case r >= 0x1f3fb && r <= 0x1f3ff, // skin tones
		r == 0x2640 || r == 0x2642, // gender signs in ZWJ sequences
		r == 0x20e3:                // combining keycap: "2️⃣" reads as 2
		return classIgnore
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
		return classWord
	case unicode.Is(unicode.So, r):
		return classEmoji
	}
	return classSeparator
}
