package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// discordgo retries a 429 without limit and sleeps for whatever
// retry_after the server sends, ignoring contexts; a rate-limit storm (or a
// proxy that always answers 429) would then hold a conversation forever.
// boundedRateLimits sits under discordgo's client and bounds both.
const (
	maxRateLimitRetries = 3
	maxRetryAfter       = 10.0 // seconds
)

type boundedRateLimits struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]int // consecutive 429s per method and path
	// onFail, when set, is told of every failed request (transport error
	// or status >= 400; rateLimited for 429). Every REST call discordgo
	// makes passes here, retries included, so this is the one place that
	// sees them all.
	onFail atomic.Pointer[func(rateLimited bool)]
}

func newBoundedRateLimits(next http.RoundTripper) *boundedRateLimits {
	return &boundedRateLimits{next: next, hits: make(map[string]int)}
}

// errRateLimited is returned once a request has been refused with 429 more
// than maxRateLimitRetries times in a row.
var errRateLimited = errors.New("discord: still rate limited after retries; giving up")

// RoundTrip implements http.RoundTripper.
func (b *boundedRateLimits) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	key := r.Method + " " + r.URL.Path
	if err != nil {
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
		return resp, nil
	}
	b.mu.Lock()
	b.hits[key]++
	n := b.hits[key]
	if n > maxRateLimitRetries {
		delete(b.hits, key)
	}
	b.mu.Unlock()
	if n > maxRateLimitRetries {
		resp.Body.Close()
		return nil, errRateLimited
	}
	capResetAfter(resp.Header)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if v, err := strconv.ParseFloat(ra, 64); err == nil && v > maxRetryAfter {
			resp.Header.Set("Retry-After", strconv.FormatFloat(maxRetryAfter, 'f', -1, 64))
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
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
