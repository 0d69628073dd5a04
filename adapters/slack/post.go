package slack

import (
	"troubleshooter/bot"

	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// pacer spaces calls per channel: a token bucket of burst calls refilled at
// one per interval, plus a pause for everyone after a 429. Safe for
// concurrent use.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	burst    float64
	buckets  map[string]*bucket
	pause    time.Time // no calls before this (after a 429)
	now      func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newPacer(interval time.Duration, burst int) *pacer {
	return &pacer{interval: interval, burst: float64(burst), buckets: map[string]*bucket{}, now: time.Now}
}

// wait blocks until a call to channel may go out, or ctx is done.
func (p *pacer) wait(ctx context.Context, channel string) error {
	for {
		d := p.reserve(channel)
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
	}
}

// reserve takes a token for channel and returns 0, or returns how long to
// wait before trying again.
func (p *pacer) reserve(channel string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Before(p.pause) {
		return p.pause.Sub(now)
	}
	b := p.buckets[channel]
	if b == nil {
		if len(p.buckets) > 10000 {
			p.prune(now)
		}
		b = &bucket{tokens: p.burst, last: now}
		p.buckets[channel] = b
	}
	if p.interval > 0 {
		b.tokens = min(p.burst, b.tokens+float64(now.Sub(b.last))/float64(p.interval))
	} else {
		b.tokens = p.burst
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(p.interval))
}

// prune drops buckets that have refilled completely; called with mu held.
func (p *pacer) prune(now time.Time) {
	for k, b := range p.buckets {
		if now.Sub(b.last) > time.Duration(p.burst)*p.interval {
			delete(p.buckets, k)
		}
	}
}

// hold stops all calls for d (Slack said Retry-After).
func (p *pacer) hold(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.now().Add(d); until.After(p.pause) {
		p.pause = until
	}
}

// maxRateLimitPause bounds how long one 429 pauses posting.
const maxRateLimitPause = 30 * time.Second

// call runs one Web API call for channel: paced, and retried up to
// maxRetries429 times after a 429, waiting as long as Retry-After says.
// Every Web API call of the adapter but auth.test goes through here, so
// this is where failures are reported to the API error hook.
func (a *Adapter) call(ctx context.Context, channel, method string, fn func(context.Context) error) error {
	// Slack's one message a second per channel is about new messages;
	// chat.update has a rate limit of its own (Tier 3), so edits are paced
	// apart and never hold up the next question.
	key := channel
	if method == "chat.update" {
		key = "update/" + channel
	}
	for attempt := 0; ; attempt++ {
		if err := a.pace.wait(ctx, key); err != nil {
			return err
		}
		err := fn(ctx)
		a.apiFailed(err)
		var rl *slack.RateLimitedError
		limited := errors.As(err, &rl)
		if limited {
			// Held even when this call gives up, so that the next call
			// (another conversation's, or the next message) still waits
			// out Retry-After. Capped: one 429 pauses posting everywhere,
			// and a Retry-After of an hour would silence the bot for
			// everyone.
			wait := min(max(rl.RetryAfter, time.Second), maxRateLimitPause)
			a.log.Warn("rate limited by Slack; waiting", "method", method, "channel", channel, "retry_after", wait)
			a.pace.hold(wait)
		}
		if !limited || attempt >= maxRetries429 {
			if err != nil {
				a.log.Warn("slack API call failed", "method", method, "channel", channel, "err", bot.RedactURL(err))
			}
			return err
		}
	}
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
	return slack.PostWebhookCustomHTTPContext(ctx, responseURL, a.httpClient(), &slack.WebhookMessage{
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
