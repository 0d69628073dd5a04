// Package throttle keeps one person from flooding the bot: a bot.Handler
// wrapper with a token bucket (golang.org/x/time/rate) per person. Platform
// adapters are wrapped with it; the terminal chat is not.
package throttle

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"troubleshooter/bot"
)

// Config sets how fast one person may send.
type Config struct {
	// PerMinute is the sustained rate of messages per person. Default 30:
	// far above anyone answering questions, far below a script.
	PerMinute float64 `yaml:"per_minute"`
	// Burst is how many messages may arrive at once. Default 10.
	Burst int `yaml:"burst"`
}

func (c Config) withDefaults() Config {
	if c.PerMinute <= 0 {
		c.PerMinute = 30
	}
	if c.Burst <= 0 {
		c.Burst = 10
	}
	return c
}

// Notice is the reply to the first message over the limit; further ones
// are dropped silently so that the bot does not flood back.
const Notice = "You're sending messages faster than I can keep up with. Please wait a few seconds, then send your answer again."

// idleEvict is how long a person's bucket is kept after their last message.
const idleEvict = 10 * time.Minute

// Handler wraps a bot.Handler with a per-person limit. It is safe for
// concurrent use.
type Handler struct {
	next bot.Handler
	cfg  Config
	now  func() time.Time

	mu      sync.Mutex
	people  map[string]*bucket
	checked time.Time
}

type bucket struct {
	lim      *rate.Limiter
	last     time.Time
	notified bool // the notice was sent since the bucket last had room
}

var _ bot.Handler = (*Handler)(nil)

// New wraps next.
func New(next bot.Handler, cfg Config) *Handler {
	return &Handler{next: next, cfg: cfg.withDefaults(), now: time.Now, people: make(map[string]*bucket)}
}

// person is whom the limit applies to: one user on one platform workspace,
// across channels and threads.
func person(a bot.Address) string {
	return bot.Address{Platform: a.Platform, Workspace: a.Workspace, User: a.User}.Key()
}

// Handle passes m on when the person is within the limit. Over it, the
// first message gets Notice and the rest get an empty Result; none of them
// reach the engine, so the conversation is unchanged.
func (h *Handler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	now := h.now()
	h.mu.Lock()
	h.evict(now)
	key := person(m.Address)
	b := h.people[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(h.cfg.PerMinute/60), h.cfg.Burst)}
		h.people[key] = b
	}
	b.last = now
	allowed := b.lim.AllowN(now, 1)
	notify := false
	if allowed {
		b.notified = false
	} else if !b.notified {
		b.notified, notify = true, true
	}
	h.mu.Unlock()

	switch {
	case allowed:
		return h.next.Handle(ctx, m)
	case notify:
		return bot.Result{Replies: []bot.Reply{{Text: Notice}}}, nil
	default:
		return bot.Result{}, nil
	}
}

// evict drops buckets idle for a while, at most once a minute; callers
// hold h.mu.
func (h *Handler) evict(now time.Time) {
	if now.Sub(h.checked) < time.Minute {
		return
	}
	h.checked = now
	for k, b := range h.people {
		if now.Sub(b.last) > idleEvict {
			delete(h.people, k)
		}
	}
}

// resumer is the optional ability to show a conversation's waiting
// question (*bot.Engine has it); adapters look for it on their handler.
type resumer interface {
	Current(ctx context.Context, a bot.Address) (bot.Result, error)
}

// Current passes through to the wrapped handler's Current, so wrapping
// does not hide that ability; it is not throttled, since it changes
// nothing. Without it underneath, it returns an empty Result.
func (h *Handler) Current(ctx context.Context, a bot.Address) (bot.Result, error) {
	if r, ok := h.next.(resumer); ok {
		return r.Current(ctx, a)
	}
	return bot.Result{}, nil
}

// Claim passes through to the wrapped handler's Claim (bot.Claimer), so
// adapters behind the throttle can still dedupe slash commands across
// replicas; it is not throttled. Without it underneath, every id is first.
func (h *Handler) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if c, ok := h.next.(bot.Claimer); ok {
		return c.Claim(ctx, id, ttl)
	}
	return true, nil
}

// CloseHandoff passes through to the wrapped handler's CloseHandoff, so
// that staff can close handoffs through a throttled handler; staff clicks
// are not throttled. Without it underneath, it returns an error saying so.
func (h *Handler) CloseHandoff(ctx context.Context, a bot.Address, started time.Time) ([]bot.Reply, bool, error) {
	if c, ok := h.next.(bot.HandoffCloser); ok {
		return c.CloseHandoff(ctx, a, started)
	}
	return nil, false, errors.New("throttle: the wrapped handler cannot close handoffs")
}

var _ bot.HandoffCloser = (*Handler)(nil)
