package bot

import (
	"context"
	"fmt"
	"time"
)

// Handoff is what the support team is told when a conversation escalates:
// a guide ran out of fixes and a person should take over.
type Handoff struct {
	// Key and Address identify the person's conversation; adapters build
	// the link to it and the close button from Address.
	Key     string
	Address Address
	// Guide is the guide id, GuideTitle its title for people.
	Guide      string
	GuideTitle string
	// Summary says, in light markdown, what the person answered (with
	// verdicts such as the 2× space check) and which fixes they tried
	// with their results. It never contains tokens; it does contain the
	// person's own answers, so post it only where staff can read it.
	Summary string
	// Started is when the conversation began, At when it escalated.
	Started time.Time
	At      time.Time
}

// HandoffPoster posts handoffs to a platform's support channel (Discord
// channel, Slack channel; the console prints them).
type HandoffPoster interface {
	// PostHandoff posts h where staff see it, with a way for them to close
	// it, and returns once the platform accepted the post. It must not
	// ping anyone but the configured support role or group.
	PostHandoff(ctx context.Context, h Handoff) error
}

// Sender delivers messages the bot starts itself, outside a turn: nudges
// to a person who went quiet, the notice that a conversation was closed.
type Sender interface {
	// Send posts replies, in order, to the conversation at to, and returns
	// once the platform accepted them.
	Send(ctx context.Context, to Address, replies []Reply) error
}

// HandoffCloser is implemented by handlers that let staff close a handed
// over conversation (*Engine does; wrappers pass it through). Adapters
// call it from the close button on a handoff post.
type HandoffCloser interface {
	// CloseHandoff ends the human handoff of the conversation at a, so
	// that the bot answers that person again. started is the Started of
	// the handoff the close button was made for (Handoff.Started): a
	// button on an older handoff of the same conversation closes nothing;
	// zero matches any. It returns the replies to send to the person;
	// closed is false (and nothing changed) when the conversation was not
	// waiting for staff on that handoff: already closed, restarted,
	// escalated again or unknown.
	CloseHandoff(ctx context.Context, a Address, started time.Time) (replies []Reply, closed bool, err error)
}

// Replies the engine says itself around a handoff.
const (
	// HandoffNotice tells the person a human will follow up, after the
	// handoff was posted.
	HandoffNotice = "I've passed your answers to our support team, and a person will reply here. Until then I'll stay quiet; say **restart** if you want to start over with me."
	// HandoffDelayedNotice is said instead when the first attempts to post
	// the handoff failed: the engine keeps trying from its sweeper.
	HandoffDelayedNotice = "I'm having trouble reaching our support team right now. I'll keep trying, and a person will reply here; until then I'll stay quiet. Say **restart** if you'd rather start over with me."
	// HandoffFailedNotice is sent when staff could not be reached for an
	// hour; the bot answers the person again.
	HandoffFailedNotice = "I couldn't reach our support team. Please share the summary above with them directly, or send me a message to start again."
	// HandoffClosedNotice is what the person is told when staff close the
	// handoff.
	HandoffClosedNotice = "Our support team has closed this conversation. If you need more help, send me a message any time to start again."
)

// handoffRetryAfter is when the sweeper takes over posting a handoff that
// is still pending: well after the escalating turn's own attempts end, so
// that both never post it.
const handoffRetryAfter = time.Minute

// handoffGiveUp is how long the sweeper keeps retrying a pending handoff
// before telling the person it could not reach staff.
const handoffGiveUp = time.Hour

// handoffAttempts bounds how often posting a handoff is tried; a support
// channel that is briefly unreachable should not lose the handoff.
const handoffAttempts = 3

// handOff posts h to the platform's support channel, after the
// conversation (marked handed off, with h pending) was saved, and returns
// what to tell the person. When the attempts here fail, h stays pending:
// the sweeper keeps trying (a platform's rate-limit pause can outlast
// them), and tells the person if staff cannot be reached for an hour.
func (e *Engine) handOff(ctx context.Context, h Handoff) Reply {
	if err := e.postHandoff(ctx, h, handoffAttempts, e.cfg.StoreTimeout); err != nil {
		return Reply{Text: HandoffDelayedNotice, Done: true}
	}
	return Reply{Text: HandoffNotice, Done: true}
}

// handoffSweepTimeout bounds one posting attempt from the sweeper: longer
// than the longest rate-limit pause adapters honour (30 s), so a pause
// delays a handoff instead of failing it.
const handoffSweepTimeout = 35 * time.Second

// postHandoff posts h, trying up to attempts times with each attempt
// bounded by timeout, and reports the result to the observer and the log.
// Once posted, h is no longer pending.
func (e *Engine) postHandoff(ctx context.Context, h Handoff, attempts int, timeout time.Duration) error {
	platform := h.Address.Platform
	poster := e.posters[platform]
	if poster == nil {
		return fmt.Errorf("no support channel for %s", platform)
	}
	var err error
	for attempt := range attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err = poster.PostHandoff(pctx, h)
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	e.obs.Handoff(platform, err)
	if err != nil {
		e.log.Error("posting the handoff failed", "conversation", LogKey(h.Key), "platform", platform, "err", err)
		return err
	}
	e.log.Info("handed over to support", "conversation", LogKey(h.Key), "platform", platform, "guide", h.Guide)
	e.handoffPosted(ctx, h)
	return nil
}

// handoffPosted records that h was posted: it is no longer pending, if
// the session still holds it (the person may have restarted, and
// escalated again, meanwhile; quiet messages change Updated, never
// Started). A failure to save is logged: the sweeper may then post h again
// later, and staff see it twice, which beats never.
func (e *Engine) handoffPosted(ctx context.Context, h Handoff) {
	wctx := context.WithoutCancel(ctx)
	err := e.locked(wctx, h.Key, func(hl *hold) error {
		s, err := hl.load(wctx)
		if err != nil || s == nil || s.PendingHandoff == nil || !s.Started.Equal(h.Started) {
			return err
		}
		s.PendingHandoff = nil
		e.schedule(s)
		return hl.save(wctx, s, nil)
	})
	if err != nil {
		e.log.Error("recording the posted handoff", "conversation", LogKey(h.Key), "err", err)
	}
}

// CloseHandoff implements HandoffCloser: staff closed the handoff of the
// conversation at a.
func (e *Engine) CloseHandoff(ctx context.Context, a Address, started time.Time) ([]Reply, bool, error) {
	key := a.Key()
	var closed bool
	err := e.locked(ctx, key, func(h *hold) error {
		s, err := h.load(ctx)
		// Buttons carry whole seconds.
		if err != nil || s == nil || !s.HandedOff || !started.IsZero() && s.Started.Unix() != started.Unix() {
			closed = false
			return err
		}
		s.HandedOff, s.PendingHandoff = false, nil
		s.Updated = e.now()
		e.schedule(s)
		if err := h.save(ctx, s, nil); err != nil {
			return err
		}
		closed = true
		e.log.Info("handoff closed by staff", "conversation", LogKey(key), "platform", a.Platform)
		return nil
	})
	if err != nil || !closed {
		return nil, false, err
	}
	return []Reply{{Text: HandoffClosedNotice, Done: true}}, true, nil
}
