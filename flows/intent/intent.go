// Package intent routes a chat user's first message to a troubleshooting
// guide, and when the message is specific enough, to the step of that guide
// that fixes the problem described.
//
// Guide authors supply phrases (a guide's symptoms and each step's keywords).
// Matching is done on normalised tokens rather than substrings, weighted by
// how specific each token is across targets, clause by clause, and a phrase
// that the user explicitly rules out ("my storage is fine") is reported as
// denied instead of being routed to.
package intent

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// Target is one thing a message can point at: a guide (Step == "") or a step
// of a guide.
type Target struct{ Guide, Step string }

// Entry is one phrase an author wrote for a target. A phrase for a step is
// evidence for that step and for its guide.
type Entry struct {
	Target Target
	Phrase string
}

// Scored pairs a target with the score the message earned for it, for callers
// that want to show or log alternatives. Denied targets score zero.
type Scored struct {
	Target Target
	Score  float64
	Denied bool
}

// Result of matching one message. Scores are finite and never negative.
type Result struct {
	Guide      string  // best guide ("" when no guide scores at or above GuideThreshold, or two guides are within GuideMargin)
	GuideScore float64 // score of the best guide, reported even when Guide is "" so callers can log near misses
	Step       string  // step of Guide to jump to, "" when no step is clearly best (>= StepThreshold and ahead of the runner-up by StepMargin)
	StepScore  float64 // score of the best step of Guide (0 when Guide is "")
	// Denied lists targets whose phrases matched but were all ruled out
	// ("storage is fine"); they scored nothing and are never routed to, so a
	// caller can skip them when walking the guide. Nil when none.
	Denied   []Target
	Greeting bool // the message is only a greeting / plea for help ("hi", "help", "can you help me?", "") with nothing topical
}

// Defaults for the Matcher thresholds, tuned on the table tests. A token's
// weight is ln(1 + targets/targets-using-it): with ~17 targets a word used by
// one target weighs ~2.9 and one used by five or more under 1.5, so the guide
// threshold accepts one specific word ("outage") or two generic ones
// ("whatsapp backup") but not one generic word. The step margin of 1.0 makes
// two unrelated problems in one message ("outdated and icloud is full") a
// menu, while a stated cause still beats a generic symptom ("stuck because
// icloud is full" -> storage, lead ~1.5).
const (
	DefaultGuideThreshold = 1.5
	DefaultGuideMargin    = 1.5
	DefaultStepThreshold  = 1.5
	DefaultStepMargin     = 1.0
	DefaultPhraseBonus    = 0.15
)

// Window sizes for denial, in content tokens of the same negation scope: a
// negator further away than this is usually about something else.
const (
	preWindow  = 3
	postWindow = 3
)

// Matcher routes messages. Build it with New; its exported thresholds may be
// adjusted before the first call to Match and must not change afterwards,
// because Match reads them without locking.
type Matcher struct {
	GuideThreshold float64 // minimum score for a guide to be routed to
	GuideMargin    float64 // the best guide must lead the runner-up by at least this much, otherwise the caller should show a menu
	StepThreshold  float64 // minimum score for a step to be jumped to
	StepMargin     float64 // the best step must lead the runner-up step of the same guide by at least this much
	PhraseBonus    float64 // added per further distinct phrase matched, so corroborating evidence breaks near-ties

	vocab     map[string]int32
	vocabStr  []string
	weights   []float64 // specificity of each vocabulary token
	fuzzByLen [][]int32 // typo candidates indexed by token length
	backupID  int32     // id of "backup", the token "back up" collapses into (-1 when absent)

	phrases []phrase
	byFirst [][]int32 // phrase indices keyed by first token id

	targets     []Target
	guides      []string
	targetGuide []int32 // guide index of each target
	guideSteps  [][]int32

	pool sync.Pool
}

type phrase struct {
	toks   []int32
	weight float64
	target int32
}

type token struct {
	id     int32 // vocabulary id, -1 when the word appears in no phrase
	flags  tokFlag
	clause int32 // phrases match only within a clause
	scope  int32 // negation reaches only within a scope; every clause break is also a scope break
}

type hit struct {
	phrase     int32
	start, end int32 // content token positions, end exclusive
}

type scratch struct {
	buf     []byte
	toks    []token
	stems   []string // only filled while analysing phrases in New
	covered []bool
	hits    []hit
	pstate  []uint8
	tBest   []float64
	tCount  []int32
	tDenied []bool
	gBest   []float64
	gCount  []int32

	nonGreeting bool
}

const (
	psAccepted uint8 = 1 << iota
	psDenied
	psCounted
)

// New builds a Matcher from the authors' phrases. It fails when a phrase
// normalises to nothing (only stopwords/punctuation), when a phrase straddles
// a clause break and so could never match, or when a target has no guide;
// the error names the offending target so the YAML can be fixed.
func New(entries []Entry) (*Matcher, error) {
	m := &Matcher{
		GuideThreshold: DefaultGuideThreshold,
		GuideMargin:    DefaultGuideMargin,
		StepThreshold:  DefaultStepThreshold,
		StepMargin:     DefaultStepMargin,
		PhraseBonus:    DefaultPhraseBonus,
		backupID:       -1,
	}
	sc := &scratch{}
	targetIdx := map[Target]int32{}
	guideIdx := map[string]int32{}
	type rawPhrase struct {
		stems  []string
		target int32
	}
	var raws []rawPhrase
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Target.Guide == "" {
			return nil, fmt.Errorf("intent: phrase %q has a target with no guide (step %q)", e.Phrase, e.Target.Step)
		}
		brk := m.analyze(e.Phrase, sc, true)
		if len(sc.stems) == 0 {
			return nil, fmt.Errorf("intent: phrase %q for %s normalises to nothing", e.Phrase, e.Target)
		}
		if brk {
			return nil, fmt.Errorf("intent: phrase %q for %s spans a clause break and could never match", e.Phrase, e.Target)
		}
		ti, ok := targetIdx[e.Target]
		if !ok {
			ti = int32(len(m.targets))
			targetIdx[e.Target] = ti
			m.targets = append(m.targets, e.Target)
			gi, ok := guideIdx[e.Target.Guide]
			if !ok {
				gi = int32(len(m.guides))
				guideIdx[e.Target.Guide] = gi
				m.guides = append(m.guides, e.Target.Guide)
				m.guideSteps = append(m.guideSteps, nil)
			}
			m.targetGuide = append(m.targetGuide, gi)
			if e.Target.Step != "" {
				m.guideSteps[gi] = append(m.guideSteps[gi], ti)
			}
		}
		key := fmt.Sprint(ti, sc.stems)
		if seen[key] {
			continue // "corrupt" and "corrupted" normalise alike; count once
		}
		seen[key] = true
		raws = append(raws, rawPhrase{append([]string(nil), sc.stems...), ti})
	}

	// Vocabulary ids in sorted order keep typo resolution deterministic.
	users := map[string]map[int32]bool{}
	for _, r := range raws {
		for _, s := range r.stems {
			if users[s] == nil {
				users[s] = map[int32]bool{}
			}
			users[s][r.target] = true
		}
	}
	for s := range users {
		m.vocabStr = append(m.vocabStr, s)
	}
	sort.Strings(m.vocabStr)
	m.vocab = make(map[string]int32, len(m.vocabStr))
	weights := make([]float64, len(m.vocabStr))
	m.weights = weights
	n := float64(len(m.targets))
	for i, s := range m.vocabStr {
		m.vocab[s] = int32(i)
		// IDF-like: a word many targets use says little about which one is meant.
		weights[i] = math.Log(1 + n/float64(len(users[s])))
		if wordFlags[s] == 0 && len(s) >= 4 && isASCII([]byte(s)) {
			for len(m.fuzzByLen) <= len(s) {
				m.fuzzByLen = append(m.fuzzByLen, nil)
			}
			m.fuzzByLen[len(s)] = append(m.fuzzByLen[len(s)], int32(i))
		}
	}
	if id, ok := m.vocab["backup"]; ok {
		m.backupID = id
	}
	m.byFirst = make([][]int32, len(m.vocabStr))
	for _, r := range raws {
		p := phrase{target: r.target}
		for _, s := range r.stems {
			id := m.vocab[s]
			p.toks = append(p.toks, id)
			p.weight += weights[id]
		}
		pi := int32(len(m.phrases))
		m.phrases = append(m.phrases, p)
		m.byFirst[p.toks[0]] = append(m.byFirst[p.toks[0]], pi)
	}
	m.pool.New = func() any {
		return &scratch{
			buf:     make([]byte, 0, 64),
			toks:    make([]token, 0, 64),
			covered: make([]bool, 0, 64),
			hits:    make([]hit, 0, 16),
			pstate:  make([]uint8, len(m.phrases)),
			tBest:   make([]float64, len(m.targets)),
			tCount:  make([]int32, len(m.targets)),
			tDenied: make([]bool, len(m.targets)),
			gBest:   make([]float64, len(m.guides)),
			gCount:  make([]int32, len(m.guides)),
		}
	}
	return m, nil
}

// String names the target the way errors and test failures print it.
func (t Target) String() string {
	if t.Step == "" {
		return "guide " + t.Guide
	}
	return "step " + t.Guide + "/" + t.Step
}

// analyze is the single normalisation pipeline shared by phrases and
// messages, so both sides always agree. It fills sc.toks (and sc.stems when
// keepStems) with content tokens and reports whether a clause break occurred
// between content tokens. Vocabulary lookups and typo correction happen only
// once the vocabulary exists, i.e. for messages.
func (m *Matcher) analyze(text string, sc *scratch, keepStems bool) (innerBreak bool) {
	if len(text) > maxInput {
		text = text[:maxInput]
	}
	sc.toks = sc.toks[:0]
	sc.stems = sc.stems[:0]
	lx := lexer{s: text}
	var clause, scope int32
	prevBack, prevAux := false, false
	pendingBreak := false
	nonGreeting := false
	for {
		word, brk, ok := lx.next(sc.buf)
		if !ok {
			break
		}
		sc.buf = word[:0]
		if brk {
			clause++
			scope++
			prevBack, prevAux, pendingBreak = false, false, true
			continue
		}
		fl := wordFlags[string(word)]
		if prevAux && string(word) == "not" {
			fl = fPreNeg | fVerbNeg // "does not" behaves like "doesn't"
		}
		prevAux = fl&fAux != 0
		if fl&fScope != 0 {
			scope++
		}
		if fl&fBreak != 0 {
			clause++
			scope++
			prevBack, pendingBreak = false, true
			continue
		}
		if fl&(fGreet|fStop) == 0 {
			nonGreeting = true
		}
		if fl&fStop != 0 {
			prevBack = false
			continue
		}
		if prevBack && string(word) == "up" {
			// "back up", "backs up", "backing up" all mean "backup".
			last := len(sc.toks) - 1
			sc.toks[last].id = m.backupID
			if keepStems {
				sc.stems[last] = "backup"
			}
			prevBack = false
			continue
		}
		rawLen := len(word)
		ing := hasSuffix(word, "ing")
		var st []byte
		if contractions[string(word)] {
			st = append(word[:0], "not"...)
		} else {
			st = stem(word)
		}
		prevBack = string(st) == "back"
		id := int32(-1)
		if m.vocab != nil {
			if v, ok := m.vocab[string(st)]; ok {
				id = v
			} else if fl == 0 && rawLen >= 5 {
				id = m.fuzzy(st)
			}
		}
		if pendingBreak && len(sc.toks) > 0 {
			innerBreak = true
		}
		pendingBreak = false
		if ing && len(st) < rawLen-2 {
			fl |= fIng
		}
		sc.toks = append(sc.toks, token{id: id, flags: fl, clause: clause, scope: scope})
		if keepStems {
			sc.stems = append(sc.stems, string(st))
		}
	}
	sc.nonGreeting = nonGreeting
	return innerBreak
}

// fuzzy forgives one slip of the thumb on a longer word ("icoud", "storge",
// "backpu") by mapping it to a vocabulary word within one edit. Short words
// are excluded because at that length one edit turns one word into another.
func (m *Matcher) fuzzy(st []byte) int32 {
	if len(st) < 4 || !isASCII(st) {
		return -1
	}
	for l := len(st) - 1; l <= len(st)+1; l++ {
		if l < 0 || l >= len(m.fuzzByLen) {
			continue
		}
		for _, id := range m.fuzzByLen[l] {
			if withinOneEdit(st, m.vocabStr[id]) {
				return id
			}
		}
	}
	return -1
}

// Match routes one message. It is safe for concurrent use, never panics on
// any input (invalid UTF-8 included) and reads at most the first 4 KiB.
func (m *Matcher) Match(text string) Result {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	m.evaluate(sc, text)
	return m.result(sc)
}

// evaluate leaves per-target and per-guide evidence for text in sc.
func (m *Matcher) evaluate(sc *scratch, text string) {
	m.analyze(text, sc, false)
	toks := sc.toks
	n := len(toks)

	// 1. Find every phrase occurrence within a clause.
	sc.hits = sc.hits[:0]
	for i := 0; i < n; i++ {
		id := toks[i].id
		if id < 0 {
			continue
		}
		for _, pi := range m.byFirst[id] {
			p := m.phrases[pi].toks
			if i+len(p) > n {
				continue
			}
			ok := true
			for j := 1; j < len(p); j++ {
				if toks[i+j].id != p[j] || toks[i+j].clause != toks[i].clause {
					ok = false
					break
				}
			}
			if ok {
				sc.hits = append(sc.hits, hit{phrase: pi, start: int32(i), end: int32(i + len(p))})
			}
		}
	}

	// 2. Words inside any matched phrase belong to that phrase, so they never
	// negate another one ("not enough storage" is not denied by its own "not").
	if cap(sc.covered) < n {
		sc.covered = make([]bool, n)
	}
	sc.covered = sc.covered[:n]
	clear(sc.covered)
	for _, h := range sc.hits {
		for k := h.start; k < h.end; k++ {
			sc.covered[k] = true
		}
	}

	// 3. Deny, then score each distinct phrase once.
	clear(sc.pstate)
	clear(sc.tBest)
	clear(sc.tCount)
	clear(sc.tDenied)
	clear(sc.gBest)
	clear(sc.gCount)
	for _, h := range sc.hits {
		if m.denied(sc, h) {
			sc.pstate[h.phrase] |= psDenied
		} else {
			sc.pstate[h.phrase] |= psAccepted
		}
	}
	for _, h := range sc.hits {
		st := sc.pstate[h.phrase]
		if st&psCounted != 0 {
			continue
		}
		sc.pstate[h.phrase] |= psCounted
		p := &m.phrases[h.phrase]
		t := p.target
		if st&psAccepted == 0 {
			sc.tDenied[t] = true
			continue
		}
		if p.weight > sc.tBest[t] {
			sc.tBest[t] = p.weight
		}
		sc.tCount[t]++
		g := m.targetGuide[t]
		if p.weight > sc.gBest[g] {
			sc.gBest[g] = p.weight
		}
		sc.gCount[g]++
	}
}

func (m *Matcher) result(sc *scratch) Result {
	var res Result
	res.Greeting = !sc.nonGreeting && len(sc.hits) == 0
	for t, d := range sc.tDenied {
		if d && sc.tCount[t] == 0 {
			res.Denied = append(res.Denied, m.targets[t])
		}
	}

	best, second := -1, 0.0
	bestScore := 0.0
	for g := range m.guides {
		s := m.score(sc.gBest[g], sc.gCount[g])
		if s > bestScore {
			second, bestScore, best = bestScore, s, g
		} else if s > second {
			second = s
		}
	}
	res.GuideScore = bestScore
	if best < 0 || bestScore < m.GuideThreshold || bestScore-second < m.GuideMargin || bestScore == second {
		return res
	}
	res.Guide = m.guides[best]

	bestStep, stepScore, stepSecond := int32(-1), 0.0, 0.0
	for _, t := range m.guideSteps[best] {
		s := m.score(sc.tBest[t], sc.tCount[t])
		if s > stepScore {
			stepSecond, stepScore, bestStep = stepScore, s, t
		} else if s > stepSecond {
			stepSecond = s
		}
	}
	res.StepScore = stepScore
	if bestStep >= 0 && stepScore >= m.StepThreshold && stepScore-stepSecond >= m.StepMargin && stepScore != stepSecond {
		res.Step = m.targets[bestStep].Step
	}
	return res
}

func (m *Matcher) score(best float64, count int32) float64 {
	if count == 0 {
		return 0
	}
	return best + m.PhraseBonus*float64(count-1)
}
