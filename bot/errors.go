package bot

import "errors"

// ErrClosed is returned (possibly wrapped; test with errors.Is) by every
// Store method called after that store's Close, including a second Close.
// It is shared by all Store implementations so that callers can tell a
// shut-down store from a failing one.
var ErrClosed = errors.New("store is closed")
