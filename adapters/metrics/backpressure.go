package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Backpressure is one platform adapter's posting figures at one moment,
// as its Stats method reports them, in the terms the metrics share across
// platforms. main fills it from each adapter's own Stats, so that adapters
// need not import this package (and this package none of them).
type Backpressure struct {
	// InFlight is the platform API calls running now (a gauge).
	InFlight int64
	// Queued is the deliveries the adapter holds now (a gauge): on Slack
	// the acknowledged turns whose replies wait to be posted, on Discord
	// the gateway events taken and not finished.
	Queued int64
	// SlotWaits counts, since start, the API calls that waited for a free
	// slot because the in-flight bound was reached.
	SlotWaits int64
	// Paced counts, since start, the API calls held back to stay under the
	// platform's rate limits (or after a 429).
	Paced int64
	// QueueFull counts, since start, the times the adapter's queue was
	// full: on Slack a delivery refused (Slack delivers it again), on
	// Discord a wait for room (gateway reading paused, or an HTTP
	// interaction held, then perhaps refused).
	QueueFull int64
	// Refused counts, since start, the deliveries the adapter refused
	// rather than acknowledge them unsaved or without room for their
	// replies: on Slack because the queue was full (Slack delivers them
	// again), on Discord HTTP interactions answered "try again" (no room
	// in time, or the turn not saved in time).
	Refused int64
}

// backpressure is a prometheus.Collector that reads each watched
// platform's Backpressure at scrape time. Pulling, rather than having the
// adapters push every change, keeps the figures exactly those of Stats
// and costs the posting path nothing.
type backpressure struct {
	mu      sync.Mutex
	sources map[string]func() Backpressure // by platform

	inFlight, queued, slotWaits, paced, queueFull, refused *prometheus.Desc
}

func newBackpressure() *backpressure {
	platform := []string{"platform"}
	return &backpressure{
		sources: map[string]func() Backpressure{},
		inFlight: prometheus.NewDesc("troubleshooter_platform_api_calls_in_flight",
			"Platform API calls running now, by platform.", platform, nil),
		queued: prometheus.NewDesc("troubleshooter_platform_queued_deliveries",
			"Deliveries the adapter holds now, by platform: Slack turns whose replies wait to be posted, Discord gateway events taken and not finished.", platform, nil),
		slotWaits: prometheus.NewDesc("troubleshooter_platform_api_slot_waits_total",
			"Platform API calls that waited for a free slot (the in-flight bound was reached), by platform.", platform, nil),
		paced: prometheus.NewDesc("troubleshooter_platform_api_paced_total",
			"Platform API calls held back to stay under the platform's rate limits or after a 429, by platform.", platform, nil),
		queueFull: prometheus.NewDesc("troubleshooter_platform_queue_full_total",
			"Times the adapter's queue was full, by platform: Slack refused a delivery (Slack delivers it again), Discord waited for room (gateway reading paused, or an HTTP interaction held).", platform, nil),
		refused: prometheus.NewDesc("troubleshooter_platform_deliveries_refused_total",
			"Deliveries refused rather than acknowledged, by platform: Slack's answered 503 or left unacknowledged in Socket Mode (a full queue, a failed or unsaved turn, not running; Slack delivers events again), Discord HTTP interactions answered 'try again' (no room, or the turn not saved, in time).", platform, nil),
	}
}

// Describe implements prometheus.Collector.
func (b *backpressure) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{b.inFlight, b.queued, b.slotWaits, b.paced, b.queueFull, b.refused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it calls each source once,
// outside the lock, so that a slow source does not hold up watching.
func (b *backpressure) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	sources := make(map[string]func() Backpressure, len(b.sources))
	for p, f := range b.sources {
		sources[p] = f
	}
	b.mu.Unlock()
	for p, f := range sources {
		s := f()
		ch <- prometheus.MustNewConstMetric(b.inFlight, prometheus.GaugeValue, float64(s.InFlight), p)
		ch <- prometheus.MustNewConstMetric(b.queued, prometheus.GaugeValue, float64(s.Queued), p)
		ch <- prometheus.MustNewConstMetric(b.slotWaits, prometheus.CounterValue, float64(s.SlotWaits), p)
		ch <- prometheus.MustNewConstMetric(b.paced, prometheus.CounterValue, float64(s.Paced), p)
		ch <- prometheus.MustNewConstMetric(b.queueFull, prometheus.CounterValue, float64(s.QueueFull), p)
		ch <- prometheus.MustNewConstMetric(b.refused, prometheus.CounterValue, float64(s.Refused), p)
	}
}

// WatchBackpressure exports platform's posting figures (the
// troubleshooter_platform_api_calls_in_flight and _queued_deliveries
// gauges, the _api_slot_waits, _api_paced, _queue_full and
// _deliveries_refused counters),
// read by calling stats at every scrape; its series exist from the first
// scrape. Watching a platform again replaces its source. stats runs on
// the scraping goroutine: it must be fast, must not block, and must be
// safe for concurrent use; its counts must only grow (they are counters).
// Safe for concurrent use.
func (m *Metrics) WatchBackpressure(platform string, stats func() Backpressure) {
	m.backpressure.mu.Lock()
	defer m.backpressure.mu.Unlock()
	m.backpressure.sources[platform] = stats
}
