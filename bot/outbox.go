package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"time"
)

// OutboxEntry is the replies of one turn, kept in the session until the
// platform took them: saved with the turn's state in one compare-and-swap,
// so that a crash between saving a turn and posting its replies delays the
// replies instead of losing them.
type OutboxEntry struct {
	// ID names the entry (Result.Outbox, Engine.Delivered).
	ID string `json:"id"`
	// Event is the id of the event that produced the entry, so that a
	// redelivery of that event can be given the same entry to post.
	Event string `json:"event,omitempty"`
	// Replies are the turn's replies, in order.
	Replies []Reply `json:"replies"`
	// Step and GuideVersion are the conversation's after the turn, for
	// adapters that put them into buttons.
	Step         string `json:"step,omitempty"`
	GuideVersion string `json:"guide_version,omitempty"`
	// Created is when the turn was saved (the engine's clock).
	Created time.Time `json:"created"`
	// Attempted is when the sweeper last took the entry to post it; zero
	// until then. Tries counts the sweeper's takes, so that the back-off
	// between them (outboxBackoff) survives restarts.
	Attempted time.Time `json:"attempted,omitzero"`
	Tries     int       `json:"tries,omitempty"`
}

// OutboxConfirmer is implemented by handlers whose turns keep their
// replies in an outbox until the adapter confirms them (*Engine does;
// handler wrappers should pass it through). Adapters call Delivered after
// posting the replies of a Result whose Outbox is set.
type OutboxConfirmer interface {
	// Delivered records that the replies of outbox entry id of the
	// conversation at a were posted: the entry is removed, so that the
	// sweeper does not post it again. An entry that is already gone
	// (confirmed, posted by the sweeper, dropped) is not an error.
	Delivered(ctx context.Context, a Address, id string) error
}

var _ OutboxConfirmer = (*Engine)(nil)

// DefaultOutboxAfter is how long an unconfirmed outbox entry waits before
// the sweeper posts it, when KeepOutbox is given 0.
const DefaultOutboxAfter = 30 * time.Second

// maxOutbox bounds the entries a session keeps: a platform that stays
// down (or an adapter that never confirms) must not grow sessions forever.
// The oldest entries are dropped first, with a log line.
const maxOutbox = 32

// maxOutboxBackoff caps the wait between the sweeper's tries of one
// entry. The wait starts at the outbox delay and doubles with each try, so
// that an outage of hours costs a few tries an hour per entry, not one per
// sweep, and the reply still goes out within minutes of the platform's
// recovery. Outbox delays longer than this are not shortened.
const maxOutboxBackoff = 5 * time.Minute

// KeepOutbox makes turns on platform keep their replies in the session (an
// OutboxEntry, saved in the same compare-and-swap as the turn's state)
// until the adapter confirms them with Delivered; Result.Outbox names the
// entry. Entries left unconfirmed for after (DefaultOutboxAfter when 0) are
// posted by the sweeper (RunSweeper) through the platform's Sender
// (SetSender): it marks the entry attempted in a compare-and-swap (one
// replica wins the claim), sends it, then removes it. An entry whose
// sweeper died, or whose post failed, is taken again: after after, then
// after twice as long each time, up to maxOutboxBackoff (5 min), until the
// entry is EngineConfig.OutboxMaxAge old (24h by default); then it is
// dropped with an Error log line. A failure no retry can fix (the Sender's
// error matches ErrUndeliverable) drops the entry at once, also with an
// Error log line. The tries are counted in the entry (saved), so neither a
// crash loop nor a rolling deploy resets or exhausts them.
//
// Delivery is therefore at least once: a reply posted but not confirmed
// (the process crashed between posting and Delivered, or Delivered failed)
// is posted again by the sweeper, so the person may see it twice. A third
// copy needs a second crash, of the sweeper that took it, between its post
// and its removal (each further copy, one more such crash). The other way
// to a second copy: a post the platform made but the Sender reported as
// failed (it timed out waiting for the answer) is tried again.
//
// Not in the outbox: the notice that a conversation was handed to staff
// (appended to Result.Replies after the turn; the pending handoff itself is
// retried by the sweeper), and the sweeper's own nudges and expiry notices
// (their timer is saved before they are sent, and a late reminder is not
// worth a second try). Call KeepOutbox before handling messages.
func (e *Engine) KeepOutbox(platform string, after time.Duration) {
	if after <= 0 {
		after = DefaultOutboxAfter
	}
	e.outboxes[platform] = after
}

// outboxAfter is how long entries of platform wait for their confirmation.
func (e *Engine) outboxAfter(platform string) time.Duration {
	if after, ok := e.outboxes[platform]; ok {
		return after
	}
	return DefaultOutboxAfter
}

// newTurnID returns a random id for a turn (and its outbox entry).
func newTurnID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// addOutbox appends x to s's outbox, dropping the oldest entries past
// maxOutbox. The slice is copied: a loaded session may share it with the
// store's copy.
func (e *Engine) addOutbox(s *Session, x OutboxEntry) {
	out := make([]OutboxEntry, 0, len(s.Outbox)+1)
	out = append(out, s.Outbox...)
	if n := len(out) - maxOutbox + 1; n > 0 {
		e.log.Warn("outbox full: dropping the oldest unconfirmed replies", "conversation", LogKey(s.Key),
			"platform", s.Address.Platform, "dropped", n)
		out = out[n:]
	}
	s.Outbox = append(out, x)
}

// removeOutbox removes entry id from s's outbox (copying it) and reports
// whether it was there.
func removeOutbox(s *Session, id string) bool {
	i := slices.IndexFunc(s.Outbox, func(x OutboxEntry) bool { return x.ID == id })
	if i < 0 {
		return false
	}
	s.Outbox = slices.Delete(slices.Clone(s.Outbox), i, i+1)
	if len(s.Outbox) == 0 {
		s.Outbox = nil
	}
	return true
}

// unsent returns the entry made by event id that no sweeper took yet.
func (s *Session) unsent(event string) (OutboxEntry, bool) {
	if event == "" {
		return OutboxEntry{}, false
	}
	for _, x := range s.Outbox {
		if x.Event == event && x.Attempted.IsZero() {
			return x, true
		}
	}
	return OutboxEntry{}, false
}

// entryDue is when the sweeper should next look at x: after after
// unconfirmed, then outboxBackoff after each take.
func entryDue(x OutboxEntry, after time.Duration) time.Time {
	if x.Attempted.IsZero() {
		return x.Created.Add(after)
	}
	return x.Attempted.Add(outboxBackoff(after, x.Tries))
}

// outboxBackoff is the wait after the tries-th take of an entry: after,
// doubled for each earlier take, at most maxOutboxBackoff (or after, when
// that is longer).
func outboxBackoff(after time.Duration, tries int) time.Duration {
	limit := max(after, maxOutboxBackoff)
	d := after
	for i := 1; i < tries && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// outboxDue is the earliest entryDue of s's outbox; zero when it is empty.
func (e *Engine) outboxDue(s *Session) time.Time {
	var due time.Time
	after := e.outboxAfter(s.Address.Platform)
	for _, x := range s.Outbox {
		if d := entryDue(x, after); due.IsZero() || d.Before(due) {
			due = d
		}
	}
	return due
}

// timer is the sweeper's timer of s without the outbox's.
func (s *Session) timer() time.Time {
	if len(s.Outbox) == 0 {
		return s.Due
	}
	return s.Timer
}

// takeOutbox claims, in s (saved by the caller), the entries due at now:
// each is marked attempted and returned to be posted once the save
// succeeded. Entries older than OutboxMaxAge, tried at least once, are
// dropped with a log line.
// Entries of a platform this process has no Sender for are claimed too
// (so that their back-off grows) but not returned: a replica that has one
// (during a deploy that adds a platform, say) posts them.
func (e *Engine) takeOutbox(s *Session, now time.Time) []OutboxEntry {
	if len(s.Outbox) == 0 {
		return nil
	}
	platform := s.Address.Platform
	after := e.outboxAfter(platform)
	_, canSend := e.senders[platform]
	var taken []OutboxEntry
	keep := make([]OutboxEntry, 0, len(s.Outbox))
	for _, x := range s.Outbox {
		if entryDue(x, after).After(now) {
			keep = append(keep, x)
			continue
		}
		if age := now.Sub(x.Created); x.Tries > 0 && age >= e.cfg.OutboxMaxAge {
			// Tried at least once, even with an outbox delay longer than
			// the maximum age.
			e.log.Error("unconfirmed replies dropped: not posted within outbox_max_age", "conversation", LogKey(s.Key),
				"platform", platform, "age", age.Round(time.Second), "tries", x.Tries, "outbox_max_age", e.cfg.OutboxMaxAge)
			continue
		}
		x.Attempted, x.Tries = now, x.Tries+1
		keep = append(keep, x)
		if !canSend {
			e.log.Warn("unconfirmed replies left for a replica that can post them: this process has no sender for the platform",
				"conversation", LogKey(s.Key), "platform", platform, "tries", x.Tries, "retry_in", outboxBackoff(after, x.Tries))
			continue
		}
		taken = append(taken, x)
	}
	s.Outbox = keep
	if len(keep) == 0 {
		s.Outbox = nil
	}
	return taken
}

// Delivered implements OutboxConfirmer: the adapter posted entry id of the
// conversation at a, which is removed in a compare-and-swap. It blocks
// behind turns of the same conversation already queued. Safe for
// concurrent use.
func (e *Engine) Delivered(ctx context.Context, a Address, id string) error {
	return e.removeEntry(ctx, a.Key(), id)
}

// removeEntry removes outbox entry id from the session at key, if it is
// still there.
func (e *Engine) removeEntry(ctx context.Context, key, id string) error {
	return e.locked(ctx, key, func(h *hold) error {
		s, err := h.load(ctx)
		if err != nil || s == nil || !removeOutbox(s, id) {
			return err
		}
		e.schedule(s)
		return h.save(ctx, s, nil)
	})
}

// postOutbox posts entries taken by the sweeper for the conversation at to
// and removes each posted one, and each the platform says it can never
// take (ErrUndeliverable). It returns how many were posted.
func (e *Engine) postOutbox(ctx context.Context, key string, to Address, taken []OutboxEntry) int {
	sender := e.senders[to.Platform]
	after := e.outboxAfter(to.Platform)
	posted := 0
	for _, x := range taken {
		sctx, cancel := context.WithTimeout(ctx, handoffSweepTimeout)
		err := sender.Send(sctx, to, x.Replies)
		cancel()
		e.obs.Notified(to.Platform, "outbox", err)
		switch {
		case errors.Is(err, ErrUndeliverable):
			e.log.Error("unconfirmed replies dropped: the platform cannot deliver them", "conversation", LogKey(key),
				"platform", to.Platform, "age", e.now().Sub(x.Created).Round(time.Second), "tries", x.Tries, "err", err)
			if err := e.removeEntry(ctx, key, x.ID); err != nil {
				// Taken again after its back-off, and dropped then.
				e.log.Warn("removing undeliverable replies failed", "conversation", LogKey(key), "err", err)
			}
			continue
		case err != nil:
			// The claim (Attempted, Tries) is saved: the entry is due
			// again after its back-off, here or on another replica.
			e.log.Warn("posting unconfirmed replies failed; trying again later", "conversation", LogKey(key),
				"platform", to.Platform, "tries", x.Tries, "retry_in", outboxBackoff(after, x.Tries), "err", err)
			continue
		}
		posted++
		if err := e.removeEntry(ctx, key, x.ID); err != nil {
			// Taken again after its back-off: a second copy.
			e.log.Warn("recording posted replies failed", "conversation", LogKey(key), "err", err)
		}
	}
	return posted
}

// cloneOutbox returns a deep copy of an outbox, for stores that hand out
// copies (MemoryStore's cloneSession): entries, their replies and choices
// share no memory with x, and times lose their monotonic reading.
func cloneOutbox(x []OutboxEntry) []OutboxEntry {
	if x == nil {
		return nil
	}
	out := make([]OutboxEntry, len(x))
	for i, en := range x {
		en.Replies = slices.Clone(en.Replies)
		for j := range en.Replies {
			en.Replies[j].Choices = slices.Clone(en.Replies[j].Choices)
		}
		en.Created, en.Attempted = en.Created.Round(0), en.Attempted.Round(0)
		out[i] = en
	}
	return out
}
