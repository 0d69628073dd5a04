package bot

import (
	"strings"
	"time"
)

// Address names one conversation: a person talking to the bot in one place.
// Two messages belong to the same conversation exactly when their Addresses
// are equal.
type Address struct {
	Platform  string // "console", "discord", "slack", …
	Workspace string // Discord guild id, Slack team id; "" for none
	Channel   string // channel or DM id; "" for none
	Thread    string // thread id; "" when the conversation is not threaded
	User      string // the person's platform user id
}

// Key returns the conversation key: a string that is equal for equal
// Addresses and different for different ones, whatever characters the parts
// hold. It is safe to use as a store key.
func (a Address) Key() string {
	var b strings.Builder
	b.Grow(len(a.Platform) + len(a.Workspace) + len(a.Channel) + len(a.Thread) + len(a.User) + 4)
	for i, part := range [...]string{a.Platform, a.Workspace, a.Channel, a.Thread, a.User} {
		if i > 0 {
			b.WriteByte('/')
		}
		// Escaping '%' and '/' keeps the encoding injective: no part can
		// forge a separator.
		for j := 0; j < len(part); j++ {
			switch c := part[j]; c {
			case '%':
				b.WriteString("%25")
			case '/':
				b.WriteString("%2F")
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// Message is one thing a person said or clicked, already converted from the
// platform's event by an adapter.
type Message struct {
	Address
	// ID is the platform's event id. Deliveries with an ID the conversation
	// has already handled are ignored; "" disables that check.
	ID string
	// Text is what the person typed; "" for a click.
	Text string
	// Choice is the id of a clicked choice; "" for typed text.
	Choice string
	// Step is the step the clicked choice belonged to, when the adapter knows
	// it (buttons carry it). A click on a step that is no longer current is
	// answered with the current question instead of being applied.
	Step string
	// GuideVersion is the guide version the clicked question came from,
	// when the adapter knows it; a click from another version is answered
	// with the current question instead of being applied.
	GuideVersion string
	// Guide selects a guide id for a new conversation; "" for the default.
	Guide string
	// Time is when the platform received the message; the zero time means
	// "now".
	Time time.Time
}

// Choice is one answer a person can pick with a click or by typing its
// number or label.
type Choice struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Reply is one message from the bot. Adapters render it natively: choices as
// buttons where the platform has them, as numbered lines elsewhere.
type Reply struct {
	// Text is light markdown (**bold**, lists, line breaks); adapters
	// escape and convert it per platform.
	Text string `json:"text"`
	// Choices are the answers offered, in order; nil when none.
	Choices []Choice `json:"choices,omitempty"`
	// Input names the kind of typed answer expected ("size", "version",
	// "number", "text"), or "" when none.
	Input string `json:"input,omitempty"`
	// Title names the question asked ("Backup size"), and Example shows
	// the expected typed form ("3.2 GB"); either may be empty. Adapters
	// use them to label forms for typed answers.
	Title   string `json:"title,omitempty"`
	Example string `json:"example,omitempty"`
	// Done is true on the last reply of a conversation that has ended.
	Done bool `json:"done,omitempty"`
}
