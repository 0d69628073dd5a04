package answer

// Command is a conversation-control request, as opposed to an answer to the
// current question.
type Command string

// The commands ParseCommand recognises.
const (
	Help    Command = "help"    // explain what the bot can do
	Back    Command = "back"    // return to the previous question
	Restart Command = "restart" // start the guide from its first question
	Skip    Command = "skip"    // leave the current question unanswered
	Stop    Command = "stop"    // end the conversation
	Status  Command = "status"  // say where in the guide we are
)

var commands = func() map[string]Command {
	m := make(map[string]Command)
	for c, phrases := range map[Command][]string{
		Help:    {"help", "menu", "help me", "commands", "show help", "show menu"},
		Back:    {"back", "go back", "undo", "previous", "previous question", "previous step"},
		Restart: {"restart", "start over", "reset", "start again", "begin again"},
		Skip: {"skip", "skip this", "skip it", "skip step", "skip this step", "skip this one",
			"skip question", "skip this question"},
		Stop:   {"stop", "cancel", "quit", "exit", "stop it", "stop this", "cancel this"},
		Status: {"status", "where am i", "summary", "show status", "show summary", "progress"},
	} {
		for _, p := range phrases {
			m[p] = c
		}
	}
	return m
}()

// ParseCommand recognises a command only when it is the whole message, so
// that an answer which happens to contain a command word ("help me, my
// backup fails", "it stops at 50%") is still read as an answer. Case,
// punctuation around the words (a leading "/" or "!", a trailing "?"), and a
// "please" before or after are ignored:
//
//	help:    help, menu, "help me"   ("?" is Unsure, not help)
//	back:    back, "go back", undo, previous
//	restart: restart, "start over", reset, "start again"
//	skip:    skip, "skip this", "skip it" ("next" is not skip: it would skip
//	         a question the person meant to answer)
//	stop:    stop, cancel, quit, exit, "stop it"
//	status:  status, "where am i", summary
func ParseCommand(s string) (Command, bool) {
	var t tokens
	t.parse(s)
	if t.normLen > maxCommandLen {
		// Commands are short. A long message may have been cut at MaxLen
		// right after "help …", so its words do not tell.
		return "", false
	}
	lo, hi := 0, t.n
	if lo < hi && isPlease(t.word(lo)) {
		lo++
	}
	if lo < hi && isPlease(t.word(hi-1)) {
		hi--
	}
	if lo >= hi {
		return "", false
	}
	for i := lo; i < hi; i++ {
		if t.tok[i].kind != kindWord {
			return "", false // "stop 🛑" is a remark, not a command
		}
	}
	c, ok := commands[string(t.key[t.tok[lo].lo:t.tok[hi-1].hi])]
	return c, ok
}

// maxCommandLen is the longest folded message read as a command: the
// longest phrase with "please" and some punctuation fits easily.
const maxCommandLen = 64

func isPlease(w []byte) bool {
	switch string(w) {
	case "please", "pls", "plz", "plez":
		return true
	}
	return false
}
