package main

import (
	"troubleshooter/adapters/discord"
	"troubleshooter/adapters/metrics"
	"troubleshooter/adapters/slack"
)

// The adapters report their posting back-pressure in their own terms
// (Stats); the metrics export what the platforms share. The translation
// lives here, in main, so that neither side imports the other. Figures
// with no counterpart on the other platform stay out of /metrics (429s
// are already there, from the API error hook, as
// troubleshooter_platform_rate_limited_total).

// slackBackpressure maps the Slack adapter's Stats: Web API calls in
// flight and waiting for a slot, turns waiting to be posted, pacing,
// deliveries refused because max_queued_turns turns waited (a full queue),
// and every delivery refused with 503 (Slack sends events again).
func slackBackpressure(s slack.Stats) metrics.Backpressure {
	return metrics.Backpressure{
		InFlight:  int64(s.InFlight),
		Queued:    int64(s.QueuedTurns),
		SlotWaits: s.SlotWaits,
		Paced:     s.Paced,
		QueueFull: s.RefusedFull,
		Refused:   s.Refused,
	}
}

// discordBackpressure maps the Discord adapter's Stats: REST calls in
// flight and waiting for a slot, events taken, pacing, the waits for room
// because max_queued events were taken (gateway reading paused, or an
// HTTP interaction held), and the HTTP interactions answered "try again".
func discordBackpressure(s discord.Stats) metrics.Backpressure {
	return metrics.Backpressure{
		InFlight:  s.RESTInFlight,
		Queued:    s.Queued,
		SlotWaits: s.RESTSlotWaits,
		Paced:     s.RESTPaced,
		QueueFull: s.QueueFullWaits,
		Refused:   s.RefusedBusy + s.RefusedUnsaved,
	}
}
