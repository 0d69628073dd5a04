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
