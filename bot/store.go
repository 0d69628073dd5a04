package bot

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by Store.Load when the key has no session.
var ErrNotFound = errors.New("session not found")

// ErrConflict is returned by Store.Save when the stored session's version is
// not the one the caller loaded: someone else saved in between. The caller
// must load again and redo its work on the fresh state.
var ErrConflict = errors.New("session changed concurrently")

// Store keeps sessions and outcome records durable. Implementations must be
// safe for concurrent use by many goroutines (and, for shared stores, many
// processes). A context that is already done makes every method return an
// error matching its cause and change nothing. Calls after Close fail with
// an error matching ErrClosed. The conformance suite in bot/storetest
// checks all of this; every implementation runs it.
type Store interface {
	// Load returns the session saved under key, or ErrNotFound. The result
	// is the caller's own copy.
	Load(ctx context.Context, key string) (*Session, error)

	// Save writes s under s.Key together with the outcome records, in one
	// atomic step, and returns only once both are durable.
	//
	// Save is a compare-and-swap on s.Version: it succeeds only if the
	// stored session has that version (0 means "no stored session"), and
	// then increments s.Version. Otherwise it returns ErrConflict and
	// changes nothing, neither in the store nor in s. A nil session or an
	// empty key is an error.
	Save(ctx context.Context, s *Session, outcomes []Outcome) error

	// Delete removes the session under key, keeping its outcome records.
	// Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// Outcomes calls fn for every outcome record that ended at or after
	// since, oldest first (equal times in save order), and stops at fn's
	// first error, returning it. fn may call the store.
	Outcomes(ctx context.Context, since time.Time, fn func(Outcome) error) error

	// Due calls fn with the key of every session whose Due is set and not
	// after now, earliest first, and stops at fn's first error, returning
	// it. Saving a session with a zero Due, or deleting it, takes it off
	// the list. fn may call the store. Timers are derived from this index,
	// so they survive restarts.
	Due(ctx context.Context, now time.Time, fn func(key string) error) error

	// Close releases the store. Calls after Close fail; Close itself
	// then returns ErrClosed.
	Close() error
}

// Locker is implemented by stores shared between processes (Redis) to keep
// one conversation's turns from interleaving across replicas. The engine
// takes the lease, when the store offers one, after its in-process turn
// queue and before loading the session.
type Locker interface {
	// Lock takes the lease on key for at most ttl, waiting while another
	// holder has it, until ctx ends. unlock releases it if it is still
	// ours. A lease that expires mid-turn cannot make a stale write win:
	// Save's compare-and-swap refuses it.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)
}

// Claimer is implemented by stores that can record, once for every process
// sharing them, that a platform delivery has been taken: adapters claim a
// slash command's trigger id or an interaction's id before creating anything
// for it, so that a command delivered to two replicas, or replayed to a
// restarted one, starts one conversation, not two. (Dedupe of messages within
// a conversation needs no claim: the session remembers its event ids.)
//
// Claim reports first == true to exactly one caller per id within ttl of
// that claim, whichever process or goroutine it runs in, and false to every
// other; once ttl has passed since the successful claim, the id can be
// claimed again (and again exactly once). The check and the record are one
// atomic step, in the store itself for stores shared between processes.
// Implementations are safe for concurrent use.
//
// An empty id or a ttl that is not positive is an error. A context that is
// already done makes Claim return an error matching its cause and claim
// nothing; after Close it fails with an error matching ErrClosed. On any
// error the caller cannot know whether the id was claimed (a write may have
// reached the store before the error); adapters then go ahead, preferring a
// rare duplicate to a lost command.
type Claimer interface {
	Claim(ctx context.Context, id string, ttl time.Duration) (first bool, err error)
}

// Claim claims id for ttl, as Claimer describes, in the engine's store when
// it is a Claimer (shared across replicas) and otherwise in this process
// only. Adapters call it through the handler they were given.
func (e *Engine) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if c, ok := e.store.(Claimer); ok {
		ctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
		defer cancel()
		return c.Claim(ctx, id, ttl)
	}
	return processClaims.claim(ctx, id, ttl, time.Now())
}
