// Package metrics exposes the bot's Prometheus metrics (client_golang): a
// bot.Observer for the engine, counters the platform adapters can bump,
// their posting back-pressure read at scrape time, and the /metrics
// handler. Every name starts with troubleshooter_; labels are
// bounded (platforms, guides, steps, outcome kinds, store operations),
// never users, keys or text.
package metrics

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"troubleshooter/bot"
)

// Metrics holds the collectors on their own registry. It implements
// bot.Observer and is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	messages   *prometheus.CounterVec
	replies    *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	errors     *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	started    *prometheus.CounterVec
	restarted  *prometheus.CounterVec
	ended      *prometheus.CounterVec
	storeTime  *prometheus.HistogramVec
	storeErrs  *prometheus.CounterVec
	apiErrors  *prometheus.CounterVec
	rateLimits *prometheus.CounterVec
	handoffs   *prometheus.CounterVec
	notices    *prometheus.CounterVec
	buildInfo  *prometheus.GaugeVec
	// backpressure reads the platform adapters' posting figures at
	// scrape time (WatchBackpressure).
	backpressure *backpressure
}

var _ bot.Observer = (*Metrics)(nil)

// New registers every metric, plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), backpressure: newBackpressure()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_messages_total", Help: "Messages received, by platform.",
	}, []string{"platform"})
	m.replies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_replies_total", Help: "Replies produced, by platform.",
	}, []string{"platform"})
	m.duplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_duplicate_events_total", Help: "Redelivered events recognised and ignored, by platform.",
	}, []string{"platform"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_handle_errors_total", Help: "Messages that could not be handled (store down, …), by platform.",
	}, []string{"platform"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "troubleshooter_handle_seconds",
		Help:    "Time to handle one message (load, guide, durable save), by platform.",
		Buckets: []float64{.00001, .00003, .0001, .0003, .001, .003, .01, .03, .1, .3, 1, 3},
	}, []string{"platform"})
	m.started = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_conversations_started_total", Help: "Conversations started, by platform and guide (a restart is not a new start).",
	}, []string{"platform", "guide"})
	m.restarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_conversations_restarted_total",
		Help: "Restarts: a person starting over inside the same conversation, by platform and guide. Neither a start nor an ending.",
	}, []string{"platform", "guide"})
	m.ended = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_conversations_ended_total",
		Help: "Conversations ended, by guide, outcome (resolved, escalated, stopped, expired) and the step: the fix that resolved it, or where it stopped.",
	}, []string{"guide", "outcome", "step"})
	m.storeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "troubleshooter_store_seconds",
		Help:    "Store operation latency, by operation (load, save, lock).",
		Buckets: []float64{.00001, .00003, .0001, .0003, .001, .003, .01, .03, .1, .3, 1},
	}, []string{"op"})
	m.storeErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_store_errors_total", Help: "Store operations that failed, by operation.",
	}, []string{"op"})
	m.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_platform_api_errors_total", Help: "Failed calls to a platform's API, by platform.",
	}, []string{"platform"})
	m.rateLimits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_platform_rate_limited_total", Help: "429 answers from a platform's API, by platform.",
	}, []string{"platform"})
	m.handoffs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_handoffs_total",
		Help: "Handoffs to a support channel, by platform and result (posted, failed).",
	}, []string{"platform", "result"})
	m.notices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "troubleshooter_notices_total",
		Help: "Messages the bot started itself, by platform, kind (nudge, expired) and result (sent, failed).",
	}, []string{"platform", "kind", "result"})
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "troubleshooter_build_info",
		Help: "Always 1: the running build's version, VCS revision (with -dirty when built from a modified tree) and Go version.",
	}, []string{"version", "revision", "go"})
	for _, c := range []prometheus.Collector{m.messages, m.replies, m.duplicates, m.errors, m.latency, m.started,
		m.restarted, m.ended, m.storeTime, m.storeErrs, m.apiErrors, m.rateLimits, m.handoffs, m.notices, m.buildInfo,
		m.backpressure, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// StoreOps are the store operations the engine reports (bot.Observer's
// StoreOp): their series exist from the start.
var StoreOps = []string{"load", "save", "lock"}

// NoticeKinds are the kinds of messages the bot starts itself
// (bot.Observer's Notified, from bot/sweep.go and bot/outbox.go).
var NoticeKinds = []string{"nudge", "expired", "handoff_failed", "released", "outbox"}

// SetBuildInfo sets troubleshooter_build_info{version,revision,go} to 1.
// Call it once; a second call adds a second series.
func (m *Metrics) SetBuildInfo(version, revision, goVersion string) {
	m.buildInfo.WithLabelValues(version, revision, goVersion).Set(1)
}

// Init creates, at zero, the series of the configured platforms and
// guides and of the store operations, so that dashboards and alerts (a
// rate, an absent series) work before the first message; a series that
// does not exist yet is not a zero to Prometheus. Labels that depend on
// what happens (the step a conversation ended at) still appear when it
// happens. Safe to call again, e.g. after a guide reload.
func (m *Metrics) Init(platforms, guides []string) {
	for _, op := range StoreOps {
		m.storeTime.WithLabelValues(op)
		m.storeErrs.WithLabelValues(op)
	}
	for _, p := range platforms {
		m.messages.WithLabelValues(p)
		m.replies.WithLabelValues(p)
		m.duplicates.WithLabelValues(p)
		m.errors.WithLabelValues(p)
		m.latency.WithLabelValues(p)
		m.apiErrors.WithLabelValues(p)
		m.rateLimits.WithLabelValues(p)
		for _, r := range []string{"posted", "failed"} {
			m.handoffs.WithLabelValues(p, r)
		}
		for _, k := range NoticeKinds {
			for _, r := range []string{"sent", "failed"} {
				m.notices.WithLabelValues(p, k, r)
			}
		}
		for _, g := range guides {
			m.started.WithLabelValues(p, g)
			m.restarted.WithLabelValues(p, g)
		}
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Handled implements bot.Observer.
func (m *Metrics) Handled(platform string, d time.Duration, replies int, duplicate bool, err error) {
	m.messages.WithLabelValues(platform).Inc()
	m.latency.WithLabelValues(platform).Observe(d.Seconds())
	switch {
	case err != nil:
		m.errors.WithLabelValues(platform).Inc()
	case duplicate:
		m.duplicates.WithLabelValues(platform).Inc()
	default:
		m.replies.WithLabelValues(platform).Add(float64(replies))
	}
}

// Started implements bot.Observer.
func (m *Metrics) Started(platform, guide string) {
	m.started.WithLabelValues(platform, guide).Inc()
}

// Ended implements bot.Observer: endings count in
// troubleshooter_conversations_ended_total, restarts apart (they are not
// endings: the conversation goes on, and counts by how it ends).
func (m *Metrics) Ended(o bot.Outcome) {
	if o.Kind == bot.OutcomeRestarted {
		m.restarted.WithLabelValues(o.Platform, o.Guide).Inc()
		return
	}
	m.ended.WithLabelValues(o.Guide, o.Kind, o.Step).Inc()
}

// StoreOp implements bot.Observer.
func (m *Metrics) StoreOp(op string, d time.Duration, err error) {
	m.storeTime.WithLabelValues(op).Observe(d.Seconds())
	if err != nil && !errors.Is(err, bot.ErrNotFound) {
		m.storeErrs.WithLabelValues(op).Inc()
	}
}

// APIError counts a failed platform API call; rateLimited marks a 429.
// Adapters call it; it is safe for concurrent use.
func (m *Metrics) APIError(platform string, rateLimited bool) {
	m.apiErrors.WithLabelValues(platform).Inc()
	if rateLimited {
		m.rateLimits.WithLabelValues(platform).Inc()
	}
}

// Handoff implements bot.Observer.
func (m *Metrics) Handoff(platform string, err error) {
	m.handoffs.WithLabelValues(platform, result(err, "posted")).Inc()
}

// Notified implements bot.Observer.
func (m *Metrics) Notified(platform, kind string, err error) {
	m.notices.WithLabelValues(platform, kind, result(err, "sent")).Inc()
}

func result(err error, ok string) string {
	if err != nil {
		return "failed"
	}
	return ok
}
