package answer

// Word roles in yes/no answers.
const (
	wNone   = iota
	wYes    // yes, yep, 👍: an answer by itself
	wNo     // no, nope, 👎
	wGood   // worked, fixed, enabled: yes, unless negated ("didn't work")
	wBad    // failed, disabled: no, unless negated ("no longer fails")
	wSoft   // ok, sure, fine: yes only when nothing else in the message says otherwise ("ok, it's off")
	wOn     // on: a state only at the end of a clause ("it's on"), else a preposition ("on iOS 17")
	wOff    // off: likewise ("it's off" but "turned off wifi and…")
	wNeg    // not, didn't, never: flips the next state word, or means no on its own
	wHedge  // maybe, probably: not a usable answer
	wFiller // words a negation reaches across: "doesn't seem to work", "not really"
)

var lexicon = buildLexicon(map[uint8][]string{
	wYes: {"yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "yas", "ye", "yeh", "yesh", "aye",
		"affirmative", "indeed", "yessir",
		"👍", "✅", "✔", "☑", "✓", "👌", "🆗"},
	wNo: {"no", "n", "nope", "nah", "nay", "nop", "naw", "nada", "negative",
		"👎", "❌", "✖", "❎", "🚫", "⛔", "✗", "✘"},
	wGood: {"enabled", "worked", "works", "working", "work", "fixed", "solved", "resolved", "success",
		"successful", "succeeded", "completed", "finished", "done", "helped", "helps", "backed",
		"correct", "true"},
	wBad: {"disabled", "failed", "fails", "failing", "fail", "failure", "broken", "stuck",
		"incorrect", "false", "wrong"},
	// Intensifiers are soft so that "absolutely not" is a no.
	wSoft: {"sure", "ok", "okay", "okey", "k", "kk", "alright", "fine", "cool", "great", "perfect",
		"awesome", "good", "yay", "nice", "absolutely", "definitely", "certainly", "totally"},
	wOn:  {"on"},
	wOff: {"off"},
	wNeg: {"not", "isnt", "didnt", "doesnt", "dont", "wasnt", "werent", "arent", "wont", "cant", "cannot",
		"couldnt", "havent", "hasnt", "hadnt", "aint", "never", "nothing"},
	wHedge: {"maybe", "perhaps", "probably", "possibly", "kinda", "sorta", "partly", "partially",
		"sometimes", "somewhat", "mostly", "almost"},
	wFiller: {"so", "really", "yet", "anymore", "any", "more", "quite", "exactly", "it", "that", "this",
		"think", "at", "all", "i", "me", "to", "seem", "seems", "seemed", "look", "looks", "like", "much",
		"still", "now", "either", "too", "for", "unfortunately", "sadly", "though", "tho", "lol", "help",
		"change", "changed", "be", "been", "do", "does", "did", "is", "was", "a", "the", "anything",
		"properly", "correctly", "right", "go", "through", "even", "again", "im", "its", "thats"},
})

// onFollowers may follow "on"/"off" used as a state: "it's on now", "on and
// still failing". Anything else after "on" reads as a preposition.
var onFollowers = buildSet("now", "already", "too", "again", "still", "anyway", "though", "tho", "and",
	"but", "so", "yes", "yeah", "yep", "i", "lol", "definitely", "for", "right", "ok", "as", "currently",
	"then", "yet", "on", "off", "or")

// weakYes are whole answers that only mean yes when they are all there is:
// "did" or "i have" repeat the question's verb.
var weakYes = buildSet("did", "i did", "it did", "we did", "i have", "ive", "i do", "it does", "it is",
	"it was", "i am", "it has", "they are", "i think so", "think so", "i believe so", "believe so",
	"i guess so", "guess so", "that did it", "that did the trick", "did the trick", "all good",
	"it went through", "went through", "of course")

// Unsure vocabulary.
const (
	uNone   = iota
	uAlways // idk, dunno: unsure wherever it appears
	uSure   // sure, certain: unsure when negated ("not really sure")
	uKnow   // know: unsure when negated ("i don't know")
	uIdea   // idea, clue: unsure when negated ("no idea", "not a clue")
)

var unsureWords = map[string]uint8{
	"idk": uAlways, "idek": uAlways, "dunno": uAlways, "unsure": uAlways, "uncertain": uAlways,
	"clueless": uAlways, "confused": uAlways, "🤷": uAlways,
	"sure": uSure, "certain": uSure, "positive": uSure,
	"know": uKnow,
	"idea": uIdea, "clue": uIdea,
}

// unsureNegators, per kind: "no" negates "idea" but "no, I know" is sure.
var unsureNegators = [...]map[string]bool{
	uSure: buildSet("not", "isnt", "arent", "aint", "never"),
	uKnow: buildSet("dont", "not", "doesnt", "never", "cant"),
	uIdea: buildSet("no", "not", "havent", "hasnt", "dont", "aint"),
}

// unsureWhole are whole messages that ask rather than answer.
var unsureWhole = buildSet("what", "huh", "where", "how", "which", "which one", "wdym", "pardon", "eh",
	"hmm", "hmmm", "hm", "um", "umm", "uh", "uhh", "erm", "sorry what", "what now", "🤔")

// unsurePhrases mean "I don't know how to answer" wherever they appear.
var unsurePhrases = buildPhrases("where do i", "where can i", "where is it", "where is that",
	"where is this", "wheres it", "wheres that", "wheres this", "where would i", "where should i",
	"where to find", "where to look", "how do i", "how can i", "how would i", "how should i",
	"how to check", "how to find", "how do you", "whats that", "whats this", "what is that",
	"what is this", "what does that mean", "what does it mean", "what does this mean",
	"what do you mean", "cant find", "cannot find", "couldnt find", "can not find", "could not find",
	"cant remember", "dont remember", "do not remember", "dont understand", "do not understand",
	"dont get it", "beats me", "who knows", "im lost")

// YesNo reads a yes/no answer the way people type one: y, yes, yep, yeah,
// yup, sure, ok, correct, "it's on", "it is on", "on", "enabled",
// "yes it did", "that worked", "fixed", 👍, ✅ mean yes; n, no, nope, nah,
// "it's off", "off", "disabled", "no it didn't", "didn't work",
// "still failing", "not fixed", 👎, ❌ mean no. Punctuation, emoji skin tones
// and other decoration are ignored, and a negation flips the state it
// governs ("not working", "no longer fails"). Acknowledgements (ok, sure,
// fine) answer only when nothing else in the message does, since "ok, it's
// off" is a no; a question inside the message ("yes, what next?") is not
// part of the answer.
//
// ok is false when the message is neither, mixes both ("yes and no",
// "on/off"), hedges ("maybe"), depends on the question ("no errors"), only
// asks ("is it on?"), or is unsure:
// "not sure", "no idea" and "I don't know" are never a no, because treating
// ignorance as an answer would send the person down the wrong branch.
func YesNo(s string) (yes bool, ok bool) {
	var t tokens
	t.parse(s)
	return t.yesNo()
}

func (t *tokens) yesNo() (yes, ok bool) {
	if t.n == 0 || t.unsure() {
		return false, false
	}
	var hardYes, hardNo, softYes, hedge bool
	// pending: a negation waiting for the state word it flips; if none
	// comes before the clause ends, the negation itself is the answer
	// ("no it didn't").
	pending := false
	for i := 0; i < t.n; i++ {
		tk := t.tok[i]
		if i > 0 && t.tok[i-1].clause != tk.clause && pending {
			hardNo, pending = true, false
		}
		if t.question[tk.clause] {
			continue // "yes, what next?": a question is not part of the answer
		}
		w := t.word(i)
		next := i + 1
		if !t.sameClause(i, next) {
			next = -1
		}
		switch string(w) {
		case "no":
			switch {
			case t.is(next, "longer"):
				pending = true
				i++
				continue
			case t.is(next, "problem"), t.is(next, "problems"), t.is(next, "prob"),
				t.is(next, "probs"), t.is(next, "worries"):
				softYes = true
				i++
				continue
			case t.is(next, "error"), t.is(next, "errors"), t.is(next, "issue"), t.is(next, "issues"):
				// "No errors" means it worked when asked "did it work?"
				// but no when asked "do you see an error?": ask again.
				hedge = true
				i++
				continue
			}
		case "kind", "sort":
			if t.is(next, "of") {
				hedge = true
				i++
				continue
			}
		case "of":
			if t.is(next, "course") {
				softYes = true
				i++
				continue
			}
		}
		role := lookupWord(w)
		if (role == wOn || role == wOff) && !t.stateEnd(i) {
			role = wNone
		}
		switch role {
		case wNeg:
			if pending {
				hardNo = true
			}
			pending = true
		case wYes, wNo:
			if pending {
				hardNo, pending = true, false
			}
			if role == wYes {
				hardYes = true
			} else {
				hardNo = true
			}
		case wGood, wBad, wSoft, wOn, wOff:
			good := role == wGood || role == wSoft || role == wOn
			switch {
			case pending:
				pending = false
				if good {
					hardNo = true
				} else {
					hardYes = true
				}
			case role == wSoft:
				softYes = true
			case good:
				hardYes = true
			default:
				hardNo = true
			}
		case wHedge:
			hedge = true
		case wFiller:
		default:
			if tk.kind == kindWord {
				// "I can't see WhatsApp": the negation is about
				// something else, so it answers nothing.
				pending = false
			}
		}
	}
	if pending {
		hardNo = true
	}
	switch {
	case hedge, hardYes && hardNo:
		return false, false
	case hardYes:
		return true, true
	case hardNo:
		return false, true
	case softYes:
		return true, true
	case weakYes[string(t.keyBytes())]:
		return true, true
	}
	return false, false
}

// stateEnd reports whether "on"/"off" at token i reads as a state rather
// than a preposition.
func (t *tokens) stateEnd(i int) bool {
	j := i + 1
	if !t.sameClause(i, j) {
		return true
	}
	return t.tok[j].kind == kindEmoji || onFollowers[string(t.word(j))]
}

// Unsure reports whether s means the person does not know the answer:
// "not sure", "don't know", "dont know", "idk", "no idea", "?", "unsure",
// "where do i find it", "how do i check", "i can't find it", "what's that",
// 🤷. The bot answers those with help on finding the answer, not with a
// retry, so a message that merely contains a question mark is not unsure.
func Unsure(s string) bool {
	var t tokens
	t.parse(s)
	return t.unsure()
}

func (t *tokens) unsure() bool {
	if t.n == 0 {
		return t.qmark // "?", "??"
	}
	if unsureWhole[string(t.keyBytes())] {
		return true
	}
	for i := 0; i < t.n; i++ {
		kind := unsureWords[string(t.word(i))]
		switch kind {
		case uNone:
			continue
		case uAlways:
			return true
		}
		neg := unsureNegators[kind]
		for j := i - 1; j >= i-3 && t.sameClause(i, j); j-- {
			if neg[string(t.word(j))] {
				return true
			}
		}
	}
	for _, p := range unsurePhrases {
		if t.hasPhrase(p) {
			return true
		}
	}
	return false
}

// lookupWord finds w's role, retrying with repeated letters squeezed
// ("yesss", "nooo", "okkk") when the spelling as typed is unknown.
func lookupWord(w []byte) uint8 {
	if role, ok := lexicon[string(w)]; ok {
		return role
	}
	var buf [16]byte
	n := 0
	for i, c := range w {
		if c >= 0x80 || n == len(buf) {
			return wNone
		}
		if i > 0 && c == w[i-1] {
			continue
		}
		buf[n] = c
		n++
	}
	if n == len(w) {
		return wNone
	}
	return lexicon[string(buf[:n])]
}

func buildLexicon(roles map[uint8][]string) map[string]uint8 {
	m := make(map[string]uint8)
	for role, words := range roles {
		for _, w := range words {
			if _, dup := m[w]; dup {
				panic("answer: word in two roles: " + w)
			}
			m[w] = role
		}
	}
	return m
}

func buildSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func buildPhrases(ps ...string) [][]byte {
	out := make([][]byte, len(ps))
	for i, p := range ps {
		out[i] = []byte(p)
	}
	return out
}
