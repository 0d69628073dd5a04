package metrics

import (
	"strings"
	"sync/atomic"
	"testing"
)

// TestBackpressureIsReadAtScrape: a platform's posting figures are read
// from its adapter when /metrics is scraped, not pushed, so each scrape
// shows them as they are then; gauges and counters are typed as such, and
// a watched platform has its series from the first scrape, at zero.
func TestBackpressureIsReadAtScrape(t *testing.T) {
	m := New()
	m.Init([]string{"slack", "discord"}, nil)
	var now atomic.Pointer[Backpressure]
	now.Store(&Backpressure{InFlight: 3, Queued: 7, SlotWaits: 11, Paced: 13, QueueFull: 2, Refused: 17})
	m.WatchBackpressure("slack", func() Backpressure { return *now.Load() })
	m.WatchBackpressure("discord", func() Backpressure { return Backpressure{} })
	text := scrape(t, m)
	for _, want := range []string{
		"# TYPE troubleshooter_platform_api_calls_in_flight gauge",
		"# TYPE troubleshooter_platform_queued_deliveries gauge",
		"# TYPE troubleshooter_platform_api_slot_waits_total counter",
		"# TYPE troubleshooter_platform_api_paced_total counter",
		"# TYPE troubleshooter_platform_queue_full_total counter",
		"# TYPE troubleshooter_platform_deliveries_refused_total counter",
		`troubleshooter_platform_api_calls_in_flight{platform="slack"} 3`,
		`troubleshooter_platform_queued_deliveries{platform="slack"} 7`,
		`troubleshooter_platform_api_slot_waits_total{platform="slack"} 11`,
		`troubleshooter_platform_api_paced_total{platform="slack"} 13`,
		`troubleshooter_platform_queue_full_total{platform="slack"} 2`,
		`troubleshooter_platform_deliveries_refused_total{platform="slack"} 17`,
		`troubleshooter_platform_api_calls_in_flight{platform="discord"} 0`,
		`troubleshooter_platform_queued_deliveries{platform="discord"} 0`,
		`troubleshooter_platform_api_slot_waits_total{platform="discord"} 0`,
		`troubleshooter_platform_api_paced_total{platform="discord"} 0`,
		`troubleshooter_platform_queue_full_total{platform="discord"} 0`,
		`troubleshooter_platform_deliveries_refused_total{platform="discord"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	now.Store(&Backpressure{InFlight: 0, Queued: 1, SlotWaits: 12, Paced: 13, QueueFull: 5})
	text = scrape(t, m)
	for _, want := range []string{
		`troubleshooter_platform_api_calls_in_flight{platform="slack"} 0`,
		`troubleshooter_platform_queued_deliveries{platform="slack"} 1`,
		`troubleshooter_platform_api_slot_waits_total{platform="slack"} 12`,
		`troubleshooter_platform_queue_full_total{platform="slack"} 5`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("second scrape lacks %s", want)
		}
	}

	// Watching a platform again replaces its source: one series each.
	m.WatchBackpressure("discord", func() Backpressure { return Backpressure{Queued: 4} })
	text = scrape(t, m)
	if n := strings.Count(text, `troubleshooter_platform_queued_deliveries{platform="discord"}`); n != 1 {
		t.Errorf("%d discord queued series after watching it again, want 1", n)
	}
	if !strings.Contains(text, `troubleshooter_platform_queued_deliveries{platform="discord"} 4`) {
		t.Error("watching discord again did not replace its source")
	}
}

// TestNoBackpressureSeriesUnwatched: a platform nobody watches (not
// configured) has no backpressure series.
func TestNoBackpressureSeriesUnwatched(t *testing.T) {
	m := New()
	m.Init([]string{"slack"}, nil)
	if text := scrape(t, m); strings.Contains(text, "troubleshooter_platform_queued_deliveries{") {
		t.Errorf("backpressure series with no platform watched:\n%s", text)
	}
}
