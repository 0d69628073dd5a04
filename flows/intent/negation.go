package intent

import (
	"fmt"
	"sort"
)

// Denial ("storage is fine"), the full score list and phrase checks.

// denied decides whether the user ruled the matched phrase out. Only words
// outside every matched phrase count, and only within the phrase's scope
// (its clause, further cut at "when"/"if"...).
func (m *Matcher) denied(sc *scratch, h hit) bool {
	toks, cov := sc.toks, sc.covered
	c := toks[h.start].scope

	// Before the phrase: negators and sufficiency words. They are counted so
	// that two cancel: "don't have enough storage" complains about storage,
	// "have enough storage" rules it out.
	neg, receipt := 0, false
	limit := int(h.start) - preWindow
	for k := int(h.start) - 1; k >= 0 && k >= limit; k-- {
		if toks[k].scope != c {
			break
		}
		if cov[k] {
			continue
		}
		f := toks[k].flags
		switch {
		case f&fReceipt != 0:
			receipt = true
		case f&fSuff != 0:
			neg++
			if limit > k-2 {
				limit = k - 2 // reach the "don't" of "don't have enough"
			}
		case f&fPreNeg != 0:
			if neg == 0 && (receipt || f&fCopNeg != 0 && toks[h.start].flags&fIng != 0) {
				// "I don't get notifications", "chats aren't backing up":
				// the negator is about the action, whose absence is the complaint.
				k = -1
				continue
			}
			neg++
		}
	}
	if neg%2 == 1 {
		return true
	}

	// After the phrase: the user says the thing is fine, unless a verb
	// negator makes the phrase the subject of a failure ("backup doesn't
	// finish") or the all-good word is itself negated ("isn't working").
	end := int(h.end) + postWindow
	for k := int(h.end); k < len(toks) && k < end; k++ {
		if toks[k].scope != c {
			break
		}
		if cov[k] {
			continue
		}
		f := toks[k].flags
		switch {
		case f&fVerbNeg != 0:
			return false
		case f&fCopNeg != 0:
			if k+1 < len(toks) && toks[k+1].scope == c && toks[k+1].flags&(fGood|fIng) != 0 {
				// "isn't working", "notifications not coming through": the
				// negated verb is the complaint, not a denial.
				return false
			}
			return true
		case f&fGood != 0:
			return true
		}
	}
	return false
}

// Scores lists every target the message touched (matched or denied), best
// first, for logging and for building a menu when Result.Guide is "". Guide
// entries carry the guide's total evidence, including its steps' phrases.
// Unlike Match it allocates.
func (m *Matcher) Scores(text string) []Scored {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	m.evaluate(sc, text)
	var out []Scored
	for g, name := range m.guides {
		if s := m.score(sc.gBest[g], sc.gCount[g]); s > 0 {
			out = append(out, Scored{Target: Target{Guide: name}, Score: s})
		}
	}
	for t, tg := range m.targets {
		switch {
		case sc.tCount[t] > 0 && tg.Step != "":
			out = append(out, Scored{Target: tg, Score: m.score(sc.tBest[t], sc.tCount[t])})
		case sc.tDenied[t] && sc.tCount[t] == 0:
			out = append(out, Scored{Target: tg, Denied: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// CheckPhrase reports why an author's phrase could never match — it
// normalises to nothing, or it spans a clause break ("works on pc but not
// on my phone": "but" splits every message there) — or nil when it can.
// Guide linters call it to point at the line.
func CheckPhrase(phrase string) error {
	m := &Matcher{backupID: -1}
	sc := &scratch{}
	brk := m.analyze(phrase, sc, true)
	switch {
	case len(sc.stems) == 0:
		return fmt.Errorf("%q has no words that count (only common words or punctuation)", phrase)
	case brk:
		return fmt.Errorf("%q spans a clause break (a comma, or a word like but/because/and), so it could never match; split it into two phrases", phrase)
	}
	return nil
}
