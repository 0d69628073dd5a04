package answer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	goversion "github.com/hashicorp/go-version"
)

// ErrNoVersion: the text holds no usable version number.
var ErrNoVersion = errors.New("answer: no version found")

var errMalformedVersion = fmt.Errorf("%w: not a dotted version of up to 4 parts of up to 6 digits", ErrNoVersion)

// Version limits: iOS and WhatsApp versions have at most four parts, none
// longer than a few digits; longer runs are phone numbers, dates or build ids.
const (
	maxVersionParts  = 4
	maxVersionDigits = 6
)

// versionPrefixes may be glued to a version: "v18.1", "ios17.4".
var versionPrefixes = buildSet("v", "ver", "version", "ios", "ipados")

// deviceWords name hardware models: the number after them ("iPhone 15")
// is a model, not a software version.
var deviceWords = buildSet("iphone", "ipad", "ipod", "watch", "series", "macbook", "mac", "imac",
	"pixel", "galaxy", "gen", "generation", "model", "step", "option", "number", "no")

// notVersionUnits follow numbers that are amounts, not versions.
var notVersionUnits = buildSet("percent", "days", "day", "hours", "hour", "hrs", "hr", "minutes",
	"minute", "mins", "min", "seconds", "secs", "sec", "times", "x", "years", "year", "months",
	"month", "weeks", "week", "am", "pm", "gigs", "apps", "photos", "videos", "chats", "messages")

// Version extracts one dotted version number: "iOS 17.4.1" → "17.4.1",
// "17.4" → "17.4", "I'm on 16" → "16", "2.24.21.77" → "2.24.21.77",
// "version 2.24.21.77 (build x)" → "2.24.21.77", "v18.1" → "18.1". The
// result matches ^\d+(\.\d+){0,3}$ and is spelled as typed.
//
// Numbers that are clearly something else are skipped: model numbers after
// a device name ("iPhone 15"), sizes and durations ("5 GB", "2 days"),
// times, dates and prices ("10:30", "3/4", "$5"), and numbers glued to words
// ("2nd", "21E236"). A number
// with more than 4 parts or a part longer than 6 digits is not a version.
// The same version twice ("17.4, yes 17.4.0") is fine. Errors: ErrAmbiguous
// when two different versions remain, ErrNoVersion when none does.
func Version(s string) (string, error) {
	var buf [MaxLen]byte
	n, _ := normalizeInto(&buf, s)
	b := buf[:n]
	var (
		found    bool
		sawDigit bool
		first    []byte
		firstSeg [maxVersionParts]uint32
		prevWord []byte // the word just before, for "iphone 15"
	)
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			r, size := decodeAt(b, i)
			if !isWordRune(r) {
				if b[i] != ' ' {
					prevWord = nil // "iphone, 17.4": punctuation ends the phrase
				}
				i += size
				continue
			}
			e := skipLetters(b, i)
			if e < len(b) && isDigit(b[e]) && !versionPrefixes[string(b[i:e])] {
				i = skipVersionish(b, e) // "a15", "iphone13": part of a name
				prevWord = nil
				continue
			}
			prevWord = b[i:e]
			i = e
			continue
		}
		sawDigit = true
		start := i
		e, seg, ok := scanVersion(b, i)
		i = e
		switch {
		case !ok,
			gluedToWord(b, e),                          // "2nd", "21e236", "17gb"
			e < len(b) && (b[e] == ':' || b[e] == '%'), // "10:30", "50%"
			afterSymbol(b, start),                      // "$5", "#2", "3/4"
			e < len(b) && b[e] == '/',
			prevWord != nil && deviceWords[string(prevWord)],
			followedByUnit(b, e):
			if gluedToWord(b, e) {
				i = skipVersionish(b, e)
			}
			prevWord = nil
			continue
		}
		prevWord = nil
		if !found {
			found, first, firstSeg = true, b[start:e], seg
			continue
		}
		if seg != firstSeg {
			return "", ErrAmbiguous
		}
	}
	switch {
	case found:
		// Hand back a slice of s when the digits appear there verbatim,
		// which they usually do, to save an allocation.
		if j := strings.Index(s, string(first)); j >= 0 {
			return s[j : j+len(first)], nil
		}
		return string(first), nil
	case sawDigit:
		return "", errMalformedVersion
	}
	return "", ErrNoVersion
}

// scanVersion reads digits and dots at b[i:] and their parts, missing ones
// as 0; ok is false when the run breaks the version limits.
func scanVersion(b []byte, i int) (end int, seg [maxVersionParts]uint32, ok bool) {
	ok = true
	part, digits := 0, 0
	for i < len(b) {
		c := b[i]
		if isDigit(c) {
			digits++
			if digits > maxVersionDigits {
				ok = false
			} else if part < maxVersionParts {
				seg[part] = seg[part]*10 + uint32(c-'0')
			}
			i++
			continue
		}
		if c != '.' || i+1 >= len(b) || !isDigit(b[i+1]) {
			break
		}
		part++
		digits = 0
		if part >= maxVersionParts {
			ok = false
		}
		i++
	}
	return i, seg, ok
}

// followedByUnit reports whether the number ending at b[i] is followed by a
// word that makes it an amount: "5 GB", "2 days".
func followedByUnit(b []byte, i int) bool {
	if i >= len(b) || b[i] != ' ' {
		return false
	}
	e := skipLetters(b, i+1)
	w := string(b[i+1 : e])
	_, unit := units[w]
	return unit || notVersionUnits[w]
}

// skipLetters returns the end of the run of letters at b[i].
func skipLetters(b []byte, i int) int {
	for i < len(b) {
		r, size := decodeAt(b, i)
		if !isWordRune(r) || (r < 0x80 && isDigit(byte(r))) {
			break
		}
		i += size
	}
	return i
}

// skipVersionish skips a run of letters, digits and inner dots, so that
// "a15.2" or "21e236.1" is passed over whole.
func skipVersionish(b []byte, i int) int {
	for i < len(b) {
		r, size := decodeAt(b, i)
		if !isWordRune(r) && !(r == '.' && i+1 < len(b) && isAlnum(b[i+1])) {
			break
		}
		i += size
	}
	return i
}

// CompareVersions compares two dotted versions part by part as numbers, a
// missing part counting as 0: "16" == "16.0", "17.4.1" > "17.4",
// "2.24.21.77" < "2.24.22". It returns -1, 0 or +1. Either side may be
// anything Version accepts ("iOS 17.4"), so stored answers and guide values
// compare alike; an error wrapping ErrNoVersion or ErrAmbiguous is returned
// when either side is not exactly one version. The comparison itself is
// hashicorp/go-version's rather than hand-rolled.
func CompareVersions(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func parseVersion(s string) (*goversion.Version, error) {
	v, err := Version(s)
	if err != nil {
		return nil, fmt.Errorf("version %q: %w", clip(s, 40), err)
	}
	gv, err := goversion.NewVersion(v)
	if err != nil { // cannot happen: Version only returns dotted digits
		return nil, fmt.Errorf("version %q: %w: %v", clip(s, 40), ErrNoVersion, err)
	}
	return gv, nil
}

// clip shortens s for error messages, which may be logged.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(c byte) bool { return c&0xc0 != 0x80 }

// decodeAt decodes the rune at b[i], with a fast path for ASCII.
func decodeAt(b []byte, i int) (rune, int) {
	if c := b[i]; c < 0x80 {
		return rune(c), 1
	}
	return utf8.DecodeRune(b[i:])
}

// afterSymbol reports whether the number at b[i] follows a symbol that
// makes it a price, an ordinal, a phone prefix or part of a date or time.
func afterSymbol(b []byte, i int) bool {
	if i == 0 {
		return false
	}
	switch b[i-1] {
	case ':', '$', '#', '+', '/':
		return true
	}
	r, _ := utf8.DecodeLastRune(b[:i])
	return r == '£' || r == '€'
}

// WithPrefix puts prefix in front of version v unless v already starts
// with it: some products name one release two ways (WhatsApp's App Info
// shows 2.25.33.75, the App Store 25.33.75), and a guide declares the
// leading part ("2") so that both forms compare equal. An empty prefix
// returns v unchanged.
func WithPrefix(v, prefix string) string {
	if prefix == "" || v == "" {
		return v
	}
	first, _, _ := strings.Cut(v, ".")
	if first == prefix {
		return v
	}
	return prefix + "." + v
}
