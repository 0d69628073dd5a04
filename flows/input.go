package flows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"troubleshooter/flows/answer"
)

// maxTextAnswer bounds a free-text answer kept in a session.
const maxTextAnswer = 500

// parseInput reads a typed answer of kind; value is what is stored, shown
// what is echoed back.
func parseInput(kind, text string) (value, shown string, err error) {
	switch kind {
	case InputSize:
		b, err := answer.Size(text)
		if err != nil {
			return "", "", err
		}
		return strconv.FormatUint(b, 10), sizeAsTyped(text, b), nil
	case InputVersion:
		v, err := answer.Version(text)
		return v, v, err
	case InputNumber:
		n, err := answer.Number(text)
		if err != nil {
			return "", "", err
		}
		v := strconv.FormatFloat(n, 'f', -1, 64)
		return v, v, nil
	default:
		// "](" could close a link in a later reply that quotes the answer:
		// a person's words are never link markup.
		v := strings.TrimSpace(clip(strings.ReplaceAll(cleanText(text), "](", "] ("), maxTextAnswer))
		if v == "" {
			return "", "", errors.New("empty answer")
		}
		return v, "“" + v + "”", nil
	}
}

// inputError explains a typed answer that could not be read, with an
// example of what works.
func inputError(cs *compiledStep, err error) string {
	ex := cs.Example
	var msg string
	switch cs.Input {
	case InputSize:
		if ex == "" {
			ex = "3.2 GB"
		}
		switch {
		case errors.Is(err, answer.ErrNoUnit):
			msg = fmt.Sprintf("Is that in GB or MB? Please include the unit, like “%s”.", ex)
		case errors.Is(err, answer.ErrAmbiguous):
			msg = fmt.Sprintf("I see more than one size there. Please send just one, like “%s”.", ex)
		default:
			msg = fmt.Sprintf("I couldn't read that as a size. Please type it like “%s” or “800 MB”.", ex)
		}
	case InputVersion:
		if ex == "" {
			ex = "17.4.1"
		}
		if errors.Is(err, answer.ErrAmbiguous) {
			msg = fmt.Sprintf("I see more than one version number there. Please send just one, like “%s”.", ex)
		} else {
			msg = fmt.Sprintf("I couldn't find a version number in that. Please type it like “%s”.", ex)
		}
	case InputNumber:
		if ex == "" {
			ex = "3"
		}
		msg = fmt.Sprintf("I couldn't read that as a number. Please type it like “%s”.", ex)
	default:
		msg = "Please type your answer."
	}
	if cs.Help != "" {
		msg += " If you're not sure where to find it, say “not sure”."
	}
	return msg
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanText drops control and invisible formatting characters from text
// that will be stored and echoed.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
			return -1
		}
		return r
	}, s)
}

// sizeUnits are the units a typed size may be echoed in, as people write
// them, with their size in bytes (decimal, as Apple counts).
var sizeUnits = []struct {
	words []string
	unit  string
	bytes float64
}{
	{[]string{"tb", "terabyte", "terabytes"}, "TB", 1e12},
	{[]string{"gb", "gig", "gigs", "gigabyte", "gigabytes"}, "GB", 1e9},
	{[]string{"mb", "meg", "megs", "megabyte", "megabytes"}, "MB", 1e6},
	{[]string{"kb", "kilobyte", "kilobytes"}, "KB", 1e3},
}

// sizeAsTyped echoes a size in the unit the person typed it in ("3400 MB"
// stays 3400 MB, rather than becoming 3.4 GB), when that is exact;
// otherwise in the unit Settings would show (answer.FormatSize).
func sizeAsTyped(text string, b uint64) string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z')
	})
	for _, u := range sizeUnits {
		for _, w := range words {
			for _, uw := range u.words {
				if w != uw {
					continue
				}
				n := float64(b) / u.bytes
				shown := strconv.FormatFloat(n, 'f', -1, 64)
				if r, err := strconv.ParseFloat(shown, 64); err == nil && uint64(r*u.bytes+0.5) == b && len(shown) <= 8 {
					return shown + " " + u.unit
				}
				return answer.FormatSize(b)
			}
		}
	}
	return answer.FormatSize(b)
}
