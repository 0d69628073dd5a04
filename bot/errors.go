package bot

import "errors"

// ErrClosed is returned (possibly wrapped; test with errors.Is) by every
// Store method called after that store's Close, including a second Close.
// It is shared by all Store implementations so that callers can tell a
// shut-down store from a failing one.
var ErrClosed = errors.New("store is closed")

// ErrCorrupt is matched (errors.Is) by a Store's Load error when one
// session record cannot be decoded or holds another key. Only that
// conversation is affected: Delete clears it and the key is usable again.
// The engine then starts that conversation afresh and tells the person.
var ErrCorrupt = errors.New("session record is corrupt")

// CorruptNotice is said before the first question of a conversation whose
// saved record was unreadable and was reset.
const CorruptNotice = "Sorry, I lost track of our conversation, so let's start again."

// ErrUndeliverable is matched (errors.Is) by a Sender's error when the
// platform refused the post for a reason no retry can fix: the channel is
// gone or the bot is not in it, the person blocked the bot, the message
// itself is rejected. Senders wrap it only then (fmt.Errorf("%w: %w",
// ErrUndeliverable, err)); any other error is taken as transient (network,
// 5xx, rate limits, a bad token an operator can fix), and the sweeper
// tries the outbox entry again with back-off until OutboxMaxAge. An entry
// whose post fails with ErrUndeliverable is dropped at once, with an Error
// log line.
var ErrUndeliverable = errors.New("the platform cannot deliver the message")
