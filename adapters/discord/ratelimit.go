package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// discordgo retries a 429 without limit and sleeps for whatever
// retry_after the server sends, ignoring contexts; a rate-limit storm (or a
// proxy that always answers 429) would then hold a conversation forever.
// boundedRateLimits sits under discordgo's client and bounds both.
const (
	maxRateLimitRetries = 3
	maxRetryAfter       = 10.0 // seconds
)

// boundedRateLimits is also where the adapter's REST calls are bounded
// and paced as a whole, below discordgo's per-route buckets (which read
// X-RateLimit-Remaining and -Reset-After, and wait out a 429's
// retry_after holding the route, so a conversation's replies keep their
// order):
//   - at most Config.MaxInFlight calls are in flight; more wait for a slot;
//   - calls that count against Discord's global limit (all but the
//     interaction routes, /interactions/… and /webhooks/…, which Discord
//     exempts) are paced so that no second holds more than
//     Config.RequestsPerSecond of them;
//   - a global 429 (X-RateLimit-Global, X-RateLimit-Scope: global or
//     "global": true) pauses every counted call until its retry_after.
//
// Every wait is counted (Stats), so back-pressure is measured.
type boundedRateLimits struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]int // consecutive 429s per method and path
	// onFail, when set, is told of every failed request (transport error
	// or status >= 400; rateLimited for 429). Every REST call discordgo
	// makes passes here, retries included, so this is the one place that
	// sees them all.
	onFail atomic.Pointer[func(rateLimited bool)]

	// slots holds a token per call in flight.
	slots chan struct{}
	// pace spaces the calls Discord counts globally.
	pace *rate.Limiter
	// pausedUntil is when the last global 429 ends, in unix nanoseconds.
	pausedUntil atomic.Int64
	// now is the clock (tests fix it).
	now func() time.Time

	inFlight, slotWaits, paced, rateLimited, globalLimited atomic.Int64
}

// newBoundedRateLimits bounds next to maxInFlight calls at once and paces
// the globally counted ones to perSecond. The pace is a token bucket of
// 90% of perSecond refilling a burst of the other 10%, so that any one
// second holds at most perSecond calls, however they bunch.
func newBoundedRateLimits(next http.RoundTripper, maxInFlight int, perSecond float64) *boundedRateLimits {
	burst := max(1, int(perSecond/10))
	return &boundedRateLimits{
		next:  next,
		hits:  make(map[string]int),
		slots: make(chan struct{}, max(1, maxInFlight)),
		pace:  rate.NewLimiter(rate.Limit(max(perSecond-float64(burst), perSecond*0.9)), burst),
		now:   time.Now,
	}
}

// errRateLimited is returned once a request has been refused with 429 more
// than maxRateLimitRetries times in a row.
var errRateLimited = errors.New("discord: still rate limited after retries; giving up")

// RoundTrip implements http.RoundTripper.
func (b *boundedRateLimits) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	counted := !interactionRoute(r.URL.Path)
	if counted {
		if err := b.waitGlobal(ctx); err != nil {
			return nil, err
		}
	}
	select {
	case b.slots <- struct{}{}:
	default:
		b.slotWaits.Add(1)
		select {
		case b.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.inFlight.Add(1)
	var once sync.Once
	release := func() {
		once.Do(func() {
			b.inFlight.Add(-1)
			<-b.slots
		})
	}
	resp, err := b.next.RoundTrip(r)
	key := r.Method + " " + r.URL.Path
	if err != nil {
		release()
		b.failed(false)
		// The request is over: forget its 429 count, so that keys (which
		// hold interaction tokens) never pile up.
		b.mu.Lock()
		delete(b.hits, key)
		b.mu.Unlock()
		return nil, err
	}
	if resp.StatusCode >= 400 {
		b.failed(resp.StatusCode == http.StatusTooManyRequests)
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		b.mu.Lock()
		delete(b.hits, key)
		b.mu.Unlock()
		capResetAfter(resp.Header)
		// The slot is held until the body is read and closed (discordgo
		// always closes it): the connection is busy until then.
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
		return resp, nil
	}
	b.rateLimited.Add(1)
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	release()
	var m map[string]any
	if rerr == nil && json.Unmarshal(body, &m) != nil {
		m = nil // not JSON: the headers still say how long to wait
	}
	b.noteGlobal(resp.Header, m)
	b.mu.Lock()
	b.hits[key]++
	n := b.hits[key]
	if n > maxRateLimitRetries {
		delete(b.hits, key)
	}
	b.mu.Unlock()
	if n > maxRateLimitRetries {
		return nil, errRateLimited
	}
	if rerr != nil {
		return nil, rerr
	}
	capResetAfter(resp.Header)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if v, err := strconv.ParseFloat(ra, 64); err == nil && v > maxRetryAfter {
			resp.Header.Set("Retry-After", strconv.FormatFloat(maxRetryAfter, 'f', -1, 64))
		}
	}
	if m != nil {
		if v, ok := m["retry_after"].(float64); ok && v > maxRetryAfter {
			m["retry_after"] = maxRetryAfter
			if nb, err := json.Marshal(m); err == nil {
				body = nb
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// waitGlobal waits, for a call counted against the global limit, until a
// global 429 is over and the pace allows one more call.
func (b *boundedRateLimits) waitGlobal(ctx context.Context) error {
	if d := time.Duration(b.pausedUntil.Load() - b.now().UnixNano()); d > 0 {
		b.paced.Add(1)
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	d, cancel := b.paceDelay(b.now())
	if d <= 0 {
		return nil
	}
	b.paced.Add(1)
	if err := sleepCtx(ctx, d); err != nil {
		cancel()
		return err
	}
	return nil
}

// paceDelay books one counted call at now and returns how long it must
// wait, and what gives its turn back if it does not go.
func (b *boundedRateLimits) paceDelay(now time.Time) (time.Duration, func()) {
	res := b.pace.ReserveN(now, 1)
	return res.DelayFrom(now), func() { res.CancelAt(b.now()) }
}

// noteGlobal pauses every counted call after a global 429, for its
// retry_after (capped like the rest).
func (b *boundedRateLimits) noteGlobal(h http.Header, body map[string]any) {
	global, _ := body["global"].(bool)
	global = global || h.Get("X-RateLimit-Global") != "" || strings.EqualFold(h.Get("X-RateLimit-Scope"), "global")
	if !global {
		return
	}
	b.globalLimited.Add(1)
	after, ok := body["retry_after"].(float64)
	if !ok {
		after, _ = strconv.ParseFloat(h.Get("Retry-After"), 64)
	}
	if !(after > 0) { // negative, or NaN from a bad header
		after = 0
	}
	after = min(after, maxRetryAfter)
	until := b.now().Add(time.Duration(after * float64(time.Second))).UnixNano()
	for {
		cur := b.pausedUntil.Load()
		if cur >= until || b.pausedUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// interactionRoute reports whether path (/api/vN/…) is one of the
// interaction routes Discord leaves out of a bot's global limit: the
// initial response (/interactions/{id}/{token}/callback) and the
// followups and edits through the interaction's webhook
// (/webhooks/{application}/{token}/…), the only webhooks the adapter uses.
func interactionRoute(path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/v")
	if !ok {
		return false
	}
	_, rest, ok = strings.Cut(rest, "/")
	return ok && (strings.HasPrefix(rest, "interactions/") || strings.HasPrefix(rest, "webhooks/"))
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releasingBody gives the call's slot back when the body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

// Close implements io.Closer.
func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// failed reports a failed request to the hook, if any.
func (b *boundedRateLimits) failed(rateLimited bool) {
	if f := b.onFail.Load(); f != nil {
		(*f)(rateLimited)
	}
}

// capResetAfter bounds the bucket reset discordgo will wait for later.
func capResetAfter(h http.Header) {
	if v, err := strconv.ParseFloat(h.Get("X-RateLimit-Reset-After"), 64); err == nil && v > maxRetryAfter {
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(maxRetryAfter, 'f', -1, 64))
	}
}
