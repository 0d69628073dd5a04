package bot

import "time"

// Observer is told what the engine does, for metrics. Implementations must
// be safe for concurrent use and fast: they run on every message. Labels
// they derive must stay bounded: platform names, guide ids, step ids and
// outcome kinds are; keys, users and text are not passed.
type Observer interface {
	// Handled is called once per message with its platform, how long it
	// took, how many replies it produced, whether it was a redelivery, and
	// the error, if any.
	Handled(platform string, d time.Duration, replies int, duplicate bool, err error)
	// Started is called for every start record (OutcomeStarted) the flow
	// returned, once it is saved, with the guide it starts: starts are
	// counted as the report counts them. A restart is not a start: it
	// begins the same conversation again, and its OutcomeRestarted record
	// goes to Ended.
	Started(platform, guide string)
	// Ended is called for every other outcome record but the resumed ones,
	// once it is saved: the endings (IsEnding) and the restarts, which are
	// not endings (the conversation goes on), to be told apart by Kind.
	Ended(o Outcome)
	// StoreOp is called after each store call ("load", "save", "lock",
	// and on stores that offer them "lockload" and "saveunlock").
	StoreOp(op string, d time.Duration, err error)
	// Handoff is called after posting a handoff to a support channel, with
	// the error of the last attempt (nil when it was posted).
	Handoff(platform string, err error)
	// Notified is called after the sweeper sent kind ("nudge", "expired",
	// or "outbox": replies an adapter never confirmed) to a person, with
	// the send error, if any.
	Notified(platform, kind string, err error)
}

// nopObserver discards observations.
type nopObserver struct{}

func (nopObserver) Handled(string, time.Duration, int, bool, error) {}
func (nopObserver) Started(string, string)                          {}
func (nopObserver) Ended(Outcome)                                   {}
func (nopObserver) StoreOp(string, time.Duration, error)            {}
func (nopObserver) Handoff(string, error)                           {}
func (nopObserver) Notified(string, string, error)                  {}
