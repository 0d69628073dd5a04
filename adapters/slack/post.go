package slack

import (
	"troubleshooter/bot"

	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"
)

// pacer spaces calls under Slack's rate limits, for all conversations
// together: a token bucket per channel (chat.postMessage allows about one
// message a second per channel, with short bursts), a token bucket per
// method for the methods of a tier (limits per method per workspace), and a
// pause per method after a 429 (Retry-After). Safe for concurrent use.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	burst    float64
	buckets  map[string]*bucket
	tiers    map[string]*rate.Limiter
	pause    map[string]time.Time // method → no calls before this (after a 429)
	now      func() time.Time
	// pruneAt is the bucket count at which prune next runs: twice what
	// the last prune kept (at least pruneAbove), so that a stream of new
	// channels whose buckets are all still refilling does not make every
	// new channel scan them all again.
	pruneAt int
	prunes  int // prune runs, for tests
	// paced counts calls that waited for their turn; pacedFor sums the
	// waits; skipped counts edits dropped over their tier's budget.
	paced, skipped atomic.Int64
	pacedFor       atomic.Int64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// tier is the per-workspace rate of a Web API method: Slack's tiers allow
// "n+ per minute" with bursts; the floor of each is used.
type tier struct {
	perMinute float64
	burst     int
}

// slackTiers are the tiers of the methods the adapter calls, from Slack's
// method documentation. chat.postMessage is paced per channel instead (its
// workspace-wide limit is not published: a 429 there pauses the method,
// see hold). auth.test runs once, at start.
var slackTiers = map[string]tier{
	"chat.update":           {perMinute: 50, burst: 10},  // Tier 3
	"conversations.replies": {perMinute: 50, burst: 10},  // Tier 3
	"chat.getPermalink":     {perMinute: 100, burst: 20}, // Tier 4
	"chat.postEphemeral":    {perMinute: 100, burst: 20}, // Tier 4, and paced per channel too
}

// skippable are methods whose calls are dropped rather than delayed when
// their tier's budget is spent: taking the buttons off an answered
// question is a courtesy, and a delayed edit would hold up the next posts.
var skippable = map[string]bool{"chat.update": true}

// errSkipped is a skippable call dropped because its tier's budget is
// spent.
var errSkipped = errors.New("skipped: the method's rate budget is spent")

func newPacer(interval time.Duration, burst int) *pacer {
	return &pacer{interval: interval, burst: float64(burst), buckets: map[string]*bucket{},
		tiers: map[string]*rate.Limiter{}, pause: map[string]time.Time{}, now: time.Now}
}

// withTiers paces the methods of tiers per workspace too.
func (p *pacer) withTiers(tiers map[string]tier) *pacer {
	for m, t := range tiers {
		p.tiers[m] = rate.NewLimiter(rate.Limit(t.perMinute/60), t.burst)
	}
	return p
}

// channelKey is the per-channel bucket of a call: messages share the
// channel's; chat.update has a limit of its own (Tier 3), so edits are
// paced apart and never hold up the next question; other methods have
// none.
func channelKey(method, channel string) string {
	switch method {
	case "chat.postMessage", "chat.postEphemeral":
		return channel
	case "chat.update":
		return "update/" + channel
	}
	return ""
}

// wait blocks until a call of method to channel may go out, or ctx is
// done. A skippable method over its tier's budget returns errSkipped at
// once.
func (p *pacer) wait(ctx context.Context, method, channel string) error {
	var waited time.Duration
	defer func() {
		if waited > 0 {
			p.paced.Add(1)
			p.pacedFor.Add(int64(waited))
		}
	}()
	for {
		d, booked, err := p.reserve(method, channel)
		if err != nil {
			return err
		}
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		waited += d
		if booked {
			return nil
		}
	}
}

// reserve takes what a call of method to channel needs, or says how long
// to wait. When booked, the call holds its tokens and goes after d;
// otherwise it took nothing and must ask again after d.
func (p *pacer) reserve(method, channel string) (d time.Duration, booked bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if until := p.pause[method]; now.Before(until) {
		return until.Sub(now), false, nil
	}
	var b *bucket
	if key := channelKey(method, channel); key != "" {
		b = p.buckets[key]
		if b == nil {
			if len(p.buckets) >= max(p.pruneAt, pruneAbove) {
				p.prune(now)
			}
			b = &bucket{tokens: p.burst, last: now}
			p.buckets[key] = b
		}
		if p.interval > 0 {
			b.tokens = min(p.burst, b.tokens+float64(now.Sub(b.last))/float64(p.interval))
		} else {
			b.tokens = p.burst
		}
		b.last = now
		if b.tokens < 1 {
			return time.Duration((1 - b.tokens) * float64(p.interval)), false, nil
		}
	}
	if lim := p.tiers[method]; lim != nil {
		if skippable[method] {
			if !lim.AllowN(now, 1) {
				p.skipped.Add(1)
				return 0, false, errSkipped
			}
		} else {
			d = lim.ReserveN(now, 1).DelayFrom(now)
		}
	}
	if b != nil {
		b.tokens--
	}
	return d, true, nil
}

// pruneAbove is how many channel buckets are kept before prune looks for
// ones to forget.
const pruneAbove = 10000

// prune drops buckets that have refilled completely; called with mu held.
func (p *pacer) prune(now time.Time) {
	p.prunes++
	for k, b := range p.buckets {
		if now.Sub(b.last) > time.Duration(p.burst)*p.interval {
			delete(p.buckets, k)
		}
	}
	p.pruneAt = 2 * len(p.buckets)
}

// hold stops all calls of method for d (Slack said Retry-After). Slack's
// limits are per method and workspace, and a 429 on a channel the bucket
// paced is most likely the workspace-wide one: every channel waits.
func (p *pacer) hold(method string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.now().Add(d); until.After(p.pause[method]) {
		p.pause[method] = until
	}
}

// maxRateLimitPause bounds how long one 429 pauses posting.
const maxRateLimitPause = 30 * time.Second

// slots bounds the Web API calls in flight, all conversations together,
// and counts how often and how long calls waited for a free slot: the
// measure of back-pressure at the bound. Safe for concurrent use.
type slots struct {
	ch               chan struct{}
	inFlight, peak   atomic.Int64
	waiting          atomic.Int64
	waits, waitedFor atomic.Int64
}

func newSlots(n int) *slots { return &slots{ch: make(chan struct{}, n)} }

// acquire takes a slot, waiting while all are taken (or until ctx is
// done); release gives it back.
func (s *slots) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.ch <- struct{}{}:
	default:
		s.waits.Add(1)
		s.waiting.Add(1)
		start := time.Now()
		select {
		case s.ch <- struct{}{}:
			s.waiting.Add(-1)
			s.waitedFor.Add(int64(time.Since(start)))
		case <-ctx.Done():
			s.waiting.Add(-1)
			return nil, ctx.Err()
		}
	}
	n := s.inFlight.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	return func() {
		s.inFlight.Add(-1)
		<-s.ch
	}, nil
}

// call runs one Web API call for channel: paced, within a free slot of the
// in-flight bound, under the per-call deadline (api_timeout), and retried
// up to maxRetries429 times after a 429, waiting as long as Retry-After
// says; the retry is the same call, from the same post queue, so a
// conversation's order holds. Every Web API call of the adapter but
// auth.test goes through here, so this is where failures are reported to
// the API error hook.
func (a *Adapter) call(ctx context.Context, channel, method string, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		if err := a.pace.wait(ctx, method, channel); err != nil {
			return err
		}
		err := a.attempt(ctx, fn)
		a.apiFailed(err)
		var rl *slack.RateLimitedError
		limited := errors.As(err, &rl)
		if limited {
			a.rateLimited.Add(1)
			// Held even when this call gives up, so that the next call
			// (another conversation's, or the next message) still waits
			// out Retry-After. Capped: one 429 pauses the method
			// everywhere, and a Retry-After of an hour would silence the
			// bot for everyone.
			wait := min(max(rl.RetryAfter, time.Second), maxRateLimitPause)
			a.log.Warn("rate limited by Slack; waiting", "method", method, "channel", channel, "retry_after", wait)
			a.pace.hold(method, wait)
		}
		if !limited || attempt >= maxRetries429 {
			if err != nil && !errors.Is(err, errSkipped) {
				a.log.Warn("slack API call failed", "method", method, "channel", channel, "err", bot.RedactURL(err))
			}
			return err
		}
	}
}

// attempt runs fn once in a slot of the in-flight bound, under the
// per-call deadline.
func (a *Adapter) attempt(ctx context.Context, fn func(context.Context) error) error {
	release, err := a.slots.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, a.cfg.APITimeout)
	defer cancel()
	return fn(ctx)
}

// post sends one message and returns its ts.
func (a *Adapter) post(ctx context.Context, channel, thread string, m message) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl()}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	var ts string
	err := a.call(ctx, channel, "chat.postMessage", func(ctx context.Context) error {
		var err error
		_, ts, err = a.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// ephemeral shows m to user only.
func (a *Adapter) ephemeral(ctx context.Context, channel, thread, user string, m message) error {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	return a.call(ctx, channel, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := a.api.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	})
}

// update replaces the message at ts.
func (a *Adapter) update(ctx context.Context, channel, ts string, m message) error {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
	return a.call(ctx, channel, "chat.update", func(ctx context.Context) error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
}

// replaceClicked replaces the message a click came from through the click's
// response URL: not a Web API call, so neither paced per channel nor
// counted against chat.update's rate.
func (a *Adapter) replaceClicked(ctx context.Context, responseURL string, m message) error {
	if !a.slackURL(responseURL) {
		return errors.New("the response URL is not Slack's")
	}
	return slack.PostWebhookCustomHTTPContext(ctx, responseURL, a.hooks, &slack.WebhookMessage{
		ReplaceOriginal: true, Text: m.Text, Blocks: &slack.Blocks{BlockSet: m.Blocks},
	})
}

// slackURL reports whether u, a response URL from a delivery, points at
// Slack (hooks.slack.com, hooks.slack-gov.com) or at the configured API
// host (a proxy, a test): the adapter posts nowhere else.
func (a *Adapter) slackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	switch host := p.Hostname(); {
	case p.Scheme == "https" && (host == "hooks.slack.com" || host == "hooks.slack-gov.com"):
		return true
	default:
		api, err := url.Parse(a.cfg.APIURL)
		return err == nil && p.Scheme == api.Scheme && p.Host == api.Host
	}
}

// note is a one-section message of light markdown.
func note(text string) message {
	return message{Text: plain(text), Blocks: []slack.Block{
		slack.NewSectionBlock(mdText(clip(mrkdwn(text), maxSectionText)), nil, nil),
	}}
}
