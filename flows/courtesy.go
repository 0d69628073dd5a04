package flows

import (
	"strings"
	"unicode"

	"troubleshooter/bot"
)

// courtesyWords are what people say to close a conversation that is
// already over: thanks, acknowledgements, goodbyes and a repeated stop. A
// message made only of these (or only of emoji and punctuation) is not a
// new problem.
var courtesyWords = map[string]bool{
	"thanks": true, "thank": true, "thankyou": true, "thx": true, "ty": true, "tysm": true, "cheers": true,
	"you": true, "so": true, "much": true, "very": true, "lot": true, "a": true, "again": true,
	"ok": true, "okay": true, "k": true, "kk": true, "alright": true, "sure": true, "cool": true,
	"great": true, "awesome": true, "perfect": true, "nice": true, "good": true, "brilliant": true, "amazing": true,
	"bye": true, "goodbye": true, "later": true, "cya": true, "see": true, "ya": true,
	"stop": true, "done": true, "end": true, "quit": true, "exit": true, "finished": true,
	"got": true, "it": true, "that": true, "works": true, "worked": true, "working": true, "now": true,
	"all": true, "set": true, "np": true, "no": true, "problem": true, "yes": true, "yep": true, "yeah": true,
	"lol": true, "haha": true, "wow": true, "appreciated": true, "appreciate": true,
}

// isClosingCourtesy reports whether norm (a normalized message) only
// thanks, acknowledges or says goodbye: "thanks!", "ok", "👍", "stop".
func isClosingCourtesy(norm string) bool {
	words := strings.FieldsFunc(norm, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' })
	if len(words) > 8 {
		return false
	}
	for _, w := range words {
		if !courtesyWords[strings.ReplaceAll(w, "'", "")] {
			return false
		}
	}
	// No words at all: emoji or punctuation only ("👍", "🙏", "!").
	return true
}

// closingAnswer is the short reply to a courtesy after the end: to
// thanks, to a repeated stop, or to an acknowledgement, by how the
// conversation ended.
func closingAnswer(norm, outcome string) string {
	thanks := strings.Contains(norm, "thank") || strings.Contains(norm, "thx") || strings.Contains(norm, "cheers") || norm == "ty"
	stop := strings.Contains(norm, "stop") || strings.Contains(norm, "quit") || strings.Contains(norm, "exit")
	switch {
	case stop:
		return "We're already done here. Send me a message whenever you want help again."
	case outcome == bot.OutcomeResolved && thanks:
		return "You're welcome, glad it works! If it acts up again, just tell me what happens."
	case outcome == bot.OutcomeResolved:
		return "Glad it's working! If it acts up again, just tell me what happens."
	case thanks:
		return "You're welcome. If something new comes up, tell me what happens, or say restart to go through the guide again."
	default:
		return "OK. Send me a message whenever you want help again."
	}
}

// RespondsAfterEnd implements bot.AfterEndFlow: the runner answers a
// thank-you after the end itself, and starts a new conversation otherwise.
func (r *Runner) RespondsAfterEnd() bool { return true }

var _ bot.AfterEndFlow = (*Runner)(nil)
