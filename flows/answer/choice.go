package answer

import (
	"bytes"
	"strings"
)

// Option is one choice that typed text can select.
type Option struct {
	ID      string   // what MatchChoice returns; also selects the option when typed
	Label   string   // the text shown for the option
	Aliases []string // extra phrases that select it
	Means   string   // "yes", "no" or "": which option a yes/no answer selects
}

// MatchChoice picks the option that s selects, trying in turn:
//
//  1. its number: "2", "#2", "2.", "option 2", "the second one" (1-based,
//     within range);
//  2. its ID, then its label or an alias, as the whole message (after
//     Normalize, ignoring punctuation and apostrophes);
//  3. a yes/no answer (see YesNo) selecting the option whose Means matches,
//     and a label or alias appearing as a whole-word phrase inside s
//     ("yes it's green" with alias "green"). Where one option's phrase lies
//     inside another's ("allowed" inside "not allowed"), the longer one wins.
//     When the yes/no reading and the phrase pick different options, a
//     phrase of several words wins ("No, WhatsApp isn't in the list") and a
//     one-word phrase makes the answer ambiguous ("no, it's green").
//
// ok is false when nothing matches or a step finds more than one option:
// a wrong guess would send the person down the wrong branch, while a retry
// costs one message.
func MatchChoice(s string, opts []Option) (id string, ok bool) {
	if len(opts) == 0 {
		return "", false
	}
	var t tokens
	t.parse(s)
	if t.n == 0 {
		return "", false
	}
	if k, ok := t.choiceNumber(); ok && k <= len(opts) {
		return opts[k-1].ID, true
	}
	key := t.keyBytes()

	var byID, exact, contained pick
	var spans [maxChoiceSpans]span
	var lt tokens // the option's text, reused for every label and alias
	for i := range opts {
		o := &opts[i]
		if lt.parse(o.ID); lt.nkey > 0 && bytes.Equal(lt.keyBytes(), key) {
			byID.add(opts, i)
		}
		best := span{start: -1, end: -1}
		for a := -1; a < len(o.Aliases); a++ {
			text := o.Label
			if a >= 0 {
				text = o.Aliases[a]
			}
			lt.parse(text)
			p := lt.keyBytes()
			if len(p) == 0 {
				continue
			}
			if bytes.Equal(p, key) {
				exact.add(opts, i)
			}
			if at := phraseAt(key, p); at >= 0 && len(p) > best.end-best.start {
				best = span{start: at, end: at + len(p)}
			}
		}
		if i < len(spans) {
			spans[i] = best
		}
	}
	switch {
	case byID.n > 0:
		return byID.result(opts)
	case exact.n > 0:
		return exact.result(opts)
	}

	// A phrase inside a longer phrase of another option is part of that
	// phrase, not a match of its own: "not allowed" is not "allowed".
	for i := 0; i < len(opts) && i < len(spans); i++ {
		a := spans[i]
		if a.start < 0 {
			continue
		}
		covered := false
		for j := 0; j < len(opts) && j < len(spans); j++ {
			b := spans[j]
			if j != i && b.start >= 0 && b.start <= a.start && a.end <= b.end && b.end-b.start > a.end-a.start {
				covered = true
				break
			}
		}
		if !covered {
			contained.add(opts, i)
		}
	}

	var yn pick
	if yes, ok := t.yesNo(); ok {
		want := "no"
		if yes {
			want = "yes"
		}
		for i := range opts {
			if strings.EqualFold(opts[i].Means, want) {
				yn.add(opts, i)
			}
		}
	}
	switch {
	case yn.n == 1 && contained.n == 1 && opts[yn.i].ID != opts[contained.i].ID:
		// "No, WhatsApp isn't in the list": a phrase of several words is
		// more specific than a bare no. "No, it's green" contradicts itself.
		if sp := spans[contained.i]; bytes.IndexByte(key[sp.start:sp.end], ' ') >= 0 {
			return opts[contained.i].ID, true
		}
		return "", false
	case yn.n > 0:
		return yn.result(opts)
	case contained.n > 0:
		return contained.result(opts)
	}
	return "", false
}

// maxChoiceSpans bounds the options whose phrases are weighed against each
// other; a question with more options than this is not one a person reads.
const maxChoiceSpans = 64

// span is where an option's longest phrase occurs in the message; start is
// -1 when none does.
type span struct{ start, end int }

// pick collects the options one matching step found; options that share an
// ID count once.
type pick struct {
	n int // distinct IDs found
	i int // the first option found
}

func (p *pick) add(opts []Option, i int) {
	switch {
	case p.n == 0:
		p.n, p.i = 1, i
	case opts[p.i].ID != opts[i].ID:
		p.n++
	}
}

func (p *pick) result(opts []Option) (string, bool) {
	if p.n != 1 {
		return "", false
	}
	return opts[p.i].ID, true
}

// phraseAt returns where p occurs in key on token boundaries, or -1.
func phraseAt(key, p []byte) int {
	for off := 0; off+len(p) <= len(key); {
		j := bytes.Index(key[off:], p)
		if j < 0 {
			return -1
		}
		j += off
		end := j + len(p)
		if (j == 0 || key[j-1] == ' ') && (end == len(key) || key[end] == ' ') {
			return j
		}
		off = j + 1
	}
	return -1
}

var ordinals = map[string]int{
	"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
	"sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
	"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8, "9th": 9, "10th": 10,
}

// cardinals count only after a lead word ("option two"): alone, "one" is
// too often part of an answer ("that one", "no one").
var cardinals = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
	"ten": 10,
}

// choiceNumber reads a message that is only an option number: "2", "#2",
// "2.", "option 2", "number two", "the second one". k ≥ 1.
func (t *tokens) choiceNumber() (k int, ok bool) {
	if t.normLen > maxCommandLen {
		return 0, false // not a short message, so not just a number
	}
	lo, hi := 0, t.n
	if lo < hi && t.is(lo, "the") {
		lo++
	}
	led := false
	if lo < hi && (t.is(lo, "option") || t.is(lo, "number") || t.is(lo, "choice") || t.is(lo, "opt")) {
		lo++
		led = true
	}
	if hi-lo == 2 && (t.is(hi-1, "one") || t.is(hi-1, "option") || t.is(hi-1, "choice")) {
		hi--
	}
	if hi-lo != 1 {
		return 0, false
	}
	w := t.word(lo)
	if len(w) <= 3 {
		n := 0
		for _, c := range w {
			if !isDigit(c) {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 1 {
			return n, true
		}
	}
	if n, ok := ordinals[string(w)]; ok {
		return n, true
	}
	if n, ok := cardinals[string(w)]; ok && led {
		return n, true
	}
	return 0, false
}
