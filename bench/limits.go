package bench

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Latency is how long a fake platform API takes to answer each call:
// Base plus a uniform jitter in [-Jitter, +Jitter], never below zero. Real
// Slack and Discord calls take tens to hundreds of milliseconds; with zero
// the fakes answer at loopback speed. The zero value adds nothing.
type Latency struct {
	Base, Jitter time.Duration
}

// next draws one call's latency. Safe for concurrent use (math/rand/v2's
// global source is).
func (l Latency) next() time.Duration {
	d := l.Base
	if l.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*l.Jitter)+1)) - l.Jitter
	}
	return max(d, 0)
}

// sleep waits one call's latency.
func (l Latency) sleep() {
	if d := l.next(); d > 0 {
		time.Sleep(d)
	}
}

// rateLimit is one platform limit: Burst calls at once, refilled at Rate
// calls per second, counted separately per key (a channel, a method, a
// webhook token). It is a token bucket, the usual model of "n per second
// with short bursts"; neither platform publishes its algorithm.
type rateLimit struct {
	Rate  float64 // calls per second
	Burst float64 // calls allowed at once
}

// bucket is one key's state.
type bucket struct {
	tokens float64
	last   time.Time
}

// limiter enforces a rateLimit per key. It is safe for concurrent use.
// Keys are forgotten once their bucket is full again, so that a run over
// many random channels keeps a bounded map.
type limiter struct {
	limit rateLimit
	mu    sync.Mutex
	keys  map[string]*bucket
	swept time.Time
}

func newLimiter(l rateLimit) *limiter {
	return &limiter{limit: l, keys: make(map[string]*bucket)}
}

// take spends one call of key's budget at now. It reports whether the call
// is allowed; either way it returns the calls left and how long until the
// bucket is full again (resetAfter), and, when refused, how long until one
// call is allowed (retryAfter).
func (l *limiter) take(key string, now time.Time) (ok bool, remaining int, resetAfter, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Second && len(l.keys) > 1024 {
		// Forget buckets that have refilled: they are the same as new.
		for k, b := range l.keys {
			if b.tokens+now.Sub(b.last).Seconds()*l.limit.Rate >= l.limit.Burst {
				delete(l.keys, k)
			}
		}
		l.swept = now
	}
	b := l.keys[key]
	if b == nil {
		b = &bucket{tokens: l.limit.Burst, last: now}
		l.keys[key] = b
	}
	b.tokens = math.Min(l.limit.Burst, b.tokens+now.Sub(b.last).Seconds()*l.limit.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		ok = true
	} else {
		retryAfter = seconds((1 - b.tokens) / l.limit.Rate)
	}
	return ok, int(b.tokens), seconds((l.limit.Burst - b.tokens) / l.limit.Rate), retryAfter
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// retryAfterSeconds is a Retry-After header value: whole seconds, rounded
// up and at least 1, as Slack sends it (an integer).
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
