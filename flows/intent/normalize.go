package intent

import (
	"unicode"
	"unicode/utf8"
)

// maxInput bounds the work done per message: first messages that matter fit
// comfortably, and a pasted log must not make routing slow.
const maxInput = 4096

// tokFlag classifies a raw (lower-cased, apostrophe-free) word. Flags are
// looked up before stemming so the closed-class lists can be spelled plainly.
type tokFlag uint16

const (
	fStop    tokFlag = 1 << iota // dropped before matching
	fGreet                       // greeting/politeness/help: a message made only of these is a greeting
	fPreNeg                      // negates a phrase that follows it ("no storage problem")
	fSuff                        // sufficiency: "enough storage" says the resource is fine
	fVerbNeg                     // after a phrase: the phrase is the subject of a failing verb ("backup doesn't finish")
	fCopNeg                      // after a phrase: copula negation ("storage isn't full")
	fGood                        // after a phrase: all-good ("storage is fine", "video calls work")
	fReceipt                     // between a negator and a phrase: "don't get notifications" complains about absence
	fBreak                       // starts a new clause
	fAux                         // "does"/"can"... make a following "not" a verb negator
	fIng                         // set by the pipeline, not the word lists: the word was a present participle ("backing")
	fScope                       // subordinator: a negation before it does not reach past it ("no notifications when my computer is on")
)

func addWords(m map[string]tokFlag, f tokFlag, words ...string) {
	for _, w := range words {
		m[w] |= f
	}
}

var wordFlags = func() map[string]tokFlag {
	m := make(map[string]tokFlag, 256)
	addWords(m, fStop,
		"a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am",
		"my", "mine", "our", "your", "yours", "to", "it", "its", "of", "on", "in",
		"i", "im", "ive", "id", "ill", "me", "this", "that", "these", "those", "thats",
		"theres", "whats", "heres", "for", "with", "just", "really", "very", "keep",
		"keeps", "kept", "still", "again", "at", "by", "from", "as", "or", "do",
		"does", "did", "can", "could", "would", "should", "will", "shall", "you",
		"we", "they", "them", "their", "he", "she", "him", "her", "there", "here",
		"what", "which", "who", "how", "why", "when", "where", "if", "then", "than",
		"some", "any", "all", "have", "has", "had", "having", "um", "uh", "like",
		"literally", "basically", "actually", "even", "anymore", "already", "think",
		"guess", "seems", "seem", "somehow", "currently", "suddenly", "anyway",
		"weve", "youre", "lately", "today",
	)
	addWords(m, fGreet,
		"hi", "hello", "hey", "heya", "hiya", "howdy", "yo", "greetings", "morning",
		"evening", "afternoon", "thanks", "thank", "thx", "ty", "please", "pls",
		"plz", "help", "helpme", "need", "can", "could", "you", "me", "there",
		"good", "anyone", "someone", "somebody", "question", "support", "assist",
		"assistance", "hellooo", "sos",
	)
	// Pure salutations carry no topic and would only stretch negation windows.
	addWords(m, fStop, "hi", "hello", "hey", "heya", "hiya", "howdy", "yo",
		"greetings", "morning", "evening", "afternoon", "thanks", "thank", "thx",
		"ty", "please", "pls", "plz", "hellooo")
	addWords(m, fPreNeg, "not", "no", "never", "without", "nothing", "isnt",
		"arent", "wasnt", "werent", "dont", "doesnt", "didnt", "cant", "cannot",
		"havent", "hasnt")
	addWords(m, fSuff, "enough", "plenty", "lots")
	addWords(m, fVerbNeg, "doesnt", "dont", "wont", "cant", "cannot", "didnt",
		"never", "couldnt", "wouldnt")
	addWords(m, fCopNeg, "isnt", "arent", "wasnt", "werent", "not")
	addWords(m, fGood, "fine", "ok", "okay", "good", "great", "work", "works",
		"working", "worked", "perfect", "perfectly", "normal", "normally", "alright")
	addWords(m, fReceipt, "get", "gets", "getting", "got", "receive", "receives",
		"received", "receiving", "see", "sees", "seeing", "seen", "hear", "hears",
		"hearing", "heard")
	addWords(m, fBreak, "but", "however", "although", "though", "yet", "except",
		"because", "since", "so", "and", "also", "while", "whereas")
	addWords(m, fStop|fScope, "when", "whenever", "if", "unless", "until", "after", "before", "once")
	addWords(m, fAux, "do", "does", "did", "will", "can", "could", "would", "should")
	return m
}()

// contractions all mean "not" to the matcher, so "isn't in the list",
// "is not in the list" and "not in the list" are one phrase and "can't back up"
// matches "not backing up". Their flags still come from the written form.
var contractions = map[string]bool{
	"isnt": true, "arent": true, "wasnt": true, "werent": true, "dont": true,
	"doesnt": true, "didnt": true, "cant": true, "cannot": true, "wont": true,
	"havent": true, "hasnt": true, "couldnt": true, "wouldnt": true, "shouldnt": true,
}

// isApostrophe covers the marks people and phone keyboards put inside
// contractions, so "can't" and "can’t" normalise identically.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02bc', '\u2032', '`':
		return true
	}
	return false
}

// isClausePunct marks where one statement ends; negation never crosses it.
func isClausePunct(r rune) bool {
	switch r {
	case ',', '.', ';', '!', '?', '\u2026', ':', '\n', '(', ')',
		'\u3002', '\uff0c', '\uff01', '\uff1f', '\uff1b', '\u00a1', '\u00bf':
		return true
	}
	return false
}

// lexer splits text into lower-cased words and clause breaks without
// allocating: the word is written into a caller-owned buffer.
type lexer struct {
	s string
	i int
}

// next appends the next word to buf[:0] and returns it, or reports a clause
// break; ok is false at the end of input.
func (l *lexer) next(buf []byte) (word []byte, brk, ok bool) {
	word = buf[:0]
	for l.i < len(l.s) {
		r, size := utf8.DecodeRuneInString(l.s[l.i:])
		switch {
		case isApostrophe(r): // checked first: U+02BC is a letter to Unicode
			l.i += size
			if len(word) == 0 {
				continue
			}
			// dropped inside words: "isn't" -> "isnt"
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (len(word) > 0 && unicode.IsMark(r)):
			l.i += size
			word = utf8.AppendRune(word, unicode.ToLower(r))
		case len(word) > 0:
			return word, false, true
		case isClausePunct(r):
			l.i += size
			return word, true, true
		default:
			l.i += size
		}
	}
	if len(word) > 0 {
		return word, false, true
	}
	return word, false, false
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

func hasVowel(b []byte) bool {
	for _, c := range b {
		switch c {
		case 'a', 'e', 'i', 'o', 'u', 'y':
			return true
		}
	}
	return false
}

func isConsonant(c byte) bool {
	return c >= 'a' && c <= 'z' && !(c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u')
}

// stem is deliberately crude: it only has to map a message word and an
// author's phrase word to the same key, not produce a dictionary form. It
// works in place and only ever shortens b.
func stem(b []byte) []byte {
	n := len(b)
	if n >= 4 && b[n-1] == 's' {
		switch {
		case n >= 5 && hasSuffix(b, "ies"):
			b = append(b[:n-3], 'y')
		case hasSuffix(b, "ss"), hasSuffix(b, "us"), hasSuffix(b, "is"):
		default:
			b = b[:n-1]
		}
	}
	n = len(b)
	switch {
	case n >= 6 && hasSuffix(b, "ing") && hasVowel(b[:n-3]):
		b = undouble(b[:n-3])
	case n >= 5 && hasSuffix(b, "ed") && hasVowel(b[:n-2]):
		b = undouble(b[:n-2])
	}
	if n = len(b); n >= 4 && b[n-1] == 'e' {
		b = b[:n-1]
	}
	return b
}

// undouble turns "stopp"/"gett" back into "stop"/"get" but keeps "fill"/"miss".
func undouble(b []byte) []byte {
	n := len(b)
	if n >= 4 && b[n-1] == b[n-2] && isConsonant(b[n-1]) {
		switch b[n-1] {
		case 'l', 's', 'z':
		default:
			return b[:n-1]
		}
	}
	return b
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or adjacent transposition (Damerau distance <= 1),
// in linear time so typo lookup stays cheap.
func withinOneEdit(a []byte, b string) bool {
	la, lb := len(a), len(b)
	switch la - lb {
	case 0:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		if i == la {
			return true
		}
		if string(a[i+1:]) == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && string(a[i+2:]) == b[i+2:]
	case 1:
		i := 0
		for i < lb && a[i] == b[i] {
			i++
		}
		return string(a[i+1:]) == b[i:]
	case -1:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		return string(a[i:]) == b[i+1:]
	}
	return false
}
