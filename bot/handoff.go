package bot

import (
	"context"
	"time"
)

// Handoff is what the support team is told when a conversation escalates:
// a guide ran out of fixes and a person should take over.
type Handoff struct {
	// Key and Address identify the person's conversation; adapters build
	// the link to it and the close button from Address.
	Key     string
	Address Address
	// Guide is the guide id, GuideTitle its title for people.
	Guide      string
	GuideTitle string
	// Summary says, in light markdown, what the person answered (with
	// verdicts such as the 2× space check) and which fixes they tried
	// with their results. It never contains tokens; it does contain the
	// person's own answers, so post it only where staff can read it.
	Summary string
	// Started is when the conversation began, At when it escalated.
	Started time.Time
	At      time.Time
}

// HandoffPoster posts handoffs to a platform's support channel (Discord
// channel, Slack channel; the console prints them).
type HandoffPoster interface {
	// PostHandoff posts h where staff see it, with a way for them to close
	// it, and returns once the platform accepted the post. It must not
	// ping anyone but the configured support role or group.
	PostHandoff(ctx context.Context, h Handoff) error
}

// Sender delivers messages the bot starts itself, outside a turn: nudges
// to a person who went quiet, the notice that a conversation was closed.
type Sender interface {
	// Send posts replies, in order, to the conversation at to, and returns
	// once the platform accepted them.
	Send(ctx context.Context, to Address, replies []Reply) error
}

// HandoffCloser is implemented by handlers that let staff close a handed
// over conversation (*Engine does; wrappers pass it through). Adapters
// call it from the close button on a handoff post.
type HandoffCloser interface {
	// CloseHandoff ends the human handoff of the conversation at a, so
	// that the bot answers that person again. started is the Started of
	// the handoff the close button was made for (Handoff.Started): a
	// button on an older handoff of the same conversation closes nothing;
	// zero matches any. It returns the replies to send to the person;
	// closed is false (and nothing changed) when the conversation was not
	// waiting for staff on that handoff: already closed, restarted,
	// escalated again or unknown.
	CloseHandoff(ctx context.Context, a Address, started time.Time) (replies []Reply, closed bool, err error)
}

// Replies the engine says itself around a handoff.
const (
	// HandoffNotice tells the person a human will follow up, after the
	// handoff was posted.
	HandoffNotice = "I've passed your answers to our support team, and a person will reply here. Until then I'll stay quiet; say **restart** if you want to start over with me."
	// HandoffDelayedNotice is said instead when the first attempts to post
	// the handoff failed: the engine keeps trying from its sweeper.
	HandoffDelayedNotice = "I'm having trouble reaching our support team right now. I'll keep trying, and a person will reply here; until then I'll stay quiet. Say **restart** if you'd rather start over with me."
	// HandoffFailedNotice is sent when staff could not be reached for an
	// hour; the bot answers the person again.
	HandoffFailedNotice = "I couldn't reach our support team. Please share the summary above with them directly, or send me a message to start again."
	// HandoffClosedNotice is what the person is told when staff close the
	// handoff.
	HandoffClosedNotice = "Our support team has closed this conversation. If you need more help, send me a message any time to start again."
)
