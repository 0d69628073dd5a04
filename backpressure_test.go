package main

import (
	"testing"
	"time"

	"troubleshooter/adapters/discord"
	"troubleshooter/adapters/metrics"
	"troubleshooter/adapters/slack"
)

// TestBackpressureFromAdapterStats: each adapter's Stats reach the
// metrics' shared terms field by field (distinct values, so that a
// swapped field shows).
func TestBackpressureFromAdapterStats(t *testing.T) {
	s := slack.Stats{InFlight: 1, InFlightPeak: 90, SlotWaiting: 91, SlotWaits: 2, SlotWaited: time.Second,
		QueuedTurns: 3, QueuedPeak: 92, Conversations: 93, RefusedFull: 5, Refused: 6, Paced: 4, PacedFor: time.Minute,
		EditsSkipped: 94, RateLimited: 95, TurnsPosted: 96, TurnsLeft: 97}
	if got, want := slackBackpressure(s), (metrics.Backpressure{InFlight: 1, SlotWaits: 2, Queued: 3, Paced: 4, QueueFull: 5, Refused: 6}); got != want {
		t.Errorf("slack: %+v, want %+v", got, want)
	}
	d := discord.Stats{RESTInFlight: 1, RESTSlotWaits: 2, Queued: 3, RESTPaced: 4, QueueFullWaits: 5,
		RateLimited: 90, GlobalRateLimited: 91, RefusedBusy: 6, RefusedUnsaved: 7}
	if got, want := discordBackpressure(d), (metrics.Backpressure{InFlight: 1, SlotWaits: 2, Queued: 3, Paced: 4, QueueFull: 5, Refused: 13}); got != want {
		t.Errorf("discord: %+v, want %+v", got, want)
	}
}
