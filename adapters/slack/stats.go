package slack

import "time"

// Stats is a snapshot of how the adapter's posting is doing: what waits
// where, and how often a bound was reached. Counters count from New.
type Stats struct {
	// InFlight is the Web API calls running now; InFlightPeak the most
	// ever at once (at most Config.MaxPostsInFlight).
	InFlight, InFlightPeak int
	// SlotWaiting is the calls waiting for a free slot now; SlotWaits
	// counts the calls that had to wait (the in-flight bound was
	// reached), SlotWaited sums their waits.
	SlotWaiting int
	SlotWaits   int64
	SlotWaited  time.Duration
	// QueuedTurns is the acknowledged turns whose replies wait to be
	// posted (or are being posted), with the room reserved by turns
	// running now; QueuedPeak the most ever (the memory bound is
	// Config.MaxQueuedTurns); Conversations the conversations with posts
	// waiting now (one goroutine each).
	QueuedTurns, QueuedPeak, Conversations int
	// RefusedFull counts deliveries refused because MaxQueuedTurns turns
	// waited: Slack delivers those events again (a click or a slash
	// command is not retried: the person sees Slack's error and tries
	// again).
	RefusedFull int64
	// Refused counts every delivery refused (answered 503 over HTTP, left
	// unacknowledged in Socket Mode, for Slack to send again),
	// RefusedFull's included: also those whose turn failed or was not
	// saved within Slack's 3 seconds, those that came while Run was not
	// running, and Socket Mode's beyond its deliveries in progress.
	Refused int64
	// Paced counts calls held back by pacing (per channel, per method
	// tier, or after a 429), PacedFor sums the holds; EditsSkipped counts
	// edits of answered questions dropped over chat.update's budget.
	Paced        int64
	PacedFor     time.Duration
	EditsSkipped int64
	// RateLimited counts 429s from Slack (each retried attempt counts).
	RateLimited int64
	// TurnsPosted counts turns whose replies were all posted and
	// confirmed; TurnsLeft turns whose posting failed or was cut short,
	// left to the engine's outbox sweeper.
	TurnsPosted, TurnsLeft int64
}

// Stats returns the adapter's posting figures now, for metrics, logs and
// the bench. Safe for concurrent use; it does not block on posting.
func (a *Adapter) Stats() Stats {
	conversations, peak := a.posts.sizes()
	return Stats{
		InFlight:      int(a.slots.inFlight.Load()),
		InFlightPeak:  int(a.slots.peak.Load()),
		SlotWaiting:   int(a.slots.waiting.Load()),
		SlotWaits:     a.slots.waits.Load(),
		SlotWaited:    time.Duration(a.slots.waitedFor.Load()),
		QueuedTurns:   a.posts.waiting(),
		QueuedPeak:    peak,
		Conversations: conversations,
		RefusedFull:   a.refusedFull.Load(),
		Refused:       a.refused.Load(),
		Paced:         a.pace.paced.Load(),
		PacedFor:      time.Duration(a.pace.pacedFor.Load()),
		EditsSkipped:  a.pace.skipped.Load(),
		RateLimited:   a.rateLimited.Load(),
		TurnsPosted:   a.postsDone.Load(),
		TurnsLeft:     a.postsLeft.Load(),
	}
}
