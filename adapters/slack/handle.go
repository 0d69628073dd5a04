package slack

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// Resumer is implemented by handlers that can show the question a
// conversation is waiting on (*bot.Engine does). The adapter looks for it
// in the handler it is given and, through Unwrap() bot.Handler methods, in
// the handlers that one wraps. With it, a click on an already answered
// question is answered privately, a click on an ended conversation gets a
// note instead of starting a new one, and thread replies are followed
// exactly while their writer's conversation is in progress. Without it,
// stale clicks are answered in the thread, and thread replies are followed
// when the thread's first message shows their writer started it.
type Resumer interface {
	Current(ctx context.Context, a bot.Address) (bot.Result, error)
}

// resumer finds a Resumer in h or in the handlers it wraps.
func resumer(h bot.Handler) (Resumer, bool) { return find[Resumer](h) }

// find returns the first of h and the handlers it wraps (through
// Unwrap() bot.Handler methods: a throttling wrapper, say) that has the
// ability T.
func find[T any](h bot.Handler) (T, bool) {
	var zero T
	for range 8 {
		if h == nil {
			return zero, false
		}
		if r, ok := h.(T); ok {
			return r, true
		}
		u, ok := h.(interface{ Unwrap() bot.Handler })
		if !ok {
			return zero, false
		}
		h = u.Unwrap()
	}
	return zero, false
}

// Messages the adapter says itself.
const (
	notYoursText = "This conversation belongs to <@%s>, so only they can answer it. To get help yourself, use /troubleshoot or mention me in a channel."
	resumeText   = "We're in the middle of a conversation, so let's carry on from here. (Say **restart** to start over.)"
	endedText    = "This conversation has ended. Mention me or use /troubleshoot to start a new one."
	cantPostText = "I'm not in this conversation, so I can't help here. Invite me to the channel (/invite @Troubleshooter) or send me a direct message, then try again."
)

// turn hands m to h and posts the replies where the conversation lives.
// onFail, when set, is told when the first post fails; before, when set,
// runs after a successful Handle and before the replies are posted.
//
// Inside a delivery (accept), the replies are posted after the delivery is
// acknowledged, from the conversation's post queue, and confirmed to the
// engine once posted; a failed turn refuses the delivery (Slack delivers it
// again) unless it is final, when the person is told to send it again.
func (a *Adapter) turn(ctx context.Context, h bot.Handler, m bot.Message, onFail func(error), before ...func(context.Context)) {
	res, err := h.Handle(ctx, m)
	if err != nil {
		if refuse(ctx, err) {
			a.log.Warn("a Slack delivery's turn failed; refusing it so that Slack delivers it again", "err", bot.RedactURL(err), "channel", m.Channel)
			return
		}
		a.log.Error("handling a Slack message failed", "err", bot.RedactURL(err), "channel", m.Channel)
		a.postMessages(ctx, m.Address, []message{note(bot.TroubleReply)}, onFail)
		return
	}
	if len(res.Replies) == 0 || (res.Duplicate && res.Outbox == "") {
		// Nothing to say: a redelivery, or a conversation handed to staff,
		// where the bot stays quiet while people talk in the thread. (A
		// redelivery whose first copy's replies were saved but not yet
		// posted gets them again, with Outbox set.)
		return
	}
	// A turn the engine applied has a step and replies; a wrapper's
	// refusal (a throttle notice, say) has no step, and the question
	// must then keep its buttons.
	applied := res.Step != "" && len(res.Replies) > 0
	a.noteEnding(m.Address, res)
	msgs := renderTurn(res.Replies, res.Step, convo{Thread: m.Thread, User: m.User, GuideVersion: res.GuideVersion, Typed: m.Text})
	if res.Done && m.Thread != "" && !handedOff(res.Replies) {
		msgs = withEndedNote(msgs)
	}
	typed := applied && m.Choice == "" && strings.TrimSpace(m.Text) != ""
	again := false
	for _, msg := range msgs {
		again = again || msg.Step == res.Step && msg.Step != ""
	}
	a.later(ctx, m.Address.Key(), func(ctx context.Context) {
		// The answered question is edited while the next one is posted,
		// not before it: an edit never holds up the next question.
		var edits sync.WaitGroup
		edits.Add(1)
		go func() {
			defer edits.Done()
			for _, f := range before {
				if !applied {
					break
				}
				f(ctx)
			}
		}()
		if typed {
			if prev, ok := a.questions.takeIf(m.Address.Key(), func(q postedQuestion) bool {
				return q.msg.Step != res.Step || res.Done || again
			}); ok {
				edits.Add(1)
				go func() {
					defer edits.Done()
					upd := message{Text: prev.msg.Text, Blocks: typedBlocks(prev.msg.Blocks, m.Text, prev.msg.Step == res.Step && !res.Done)}
					if err := a.update(ctx, m.Channel, prev.ts, upd); err != nil {
						a.log.Warn("could not mark the question answered", "err", bot.RedactURL(err))
					}
				}()
			}
		}
		a.postTurn(ctx, h, m.Address, res.Outbox, msgs, onFail)
		edits.Wait()
	})
}

// withEndedNote appends the "conversation has ended" note to the last of
// msgs, so that the end of a conversation is one message (a second one a
// moment later reads as an afterthought); in a message of its own only
// when the last is full.
func withEndedNote(msgs []message) []message {
	ended := slack.NewContextBlock("", mdText(endedText))
	if n := len(msgs); n > 0 && len(msgs[n-1].Blocks) < maxBlocks {
		last := msgs[n-1]
		last.Blocks = append(append([]slack.Block(nil), last.Blocks...), ended)
		last.Text = clip(strings.TrimSpace(last.Text+"\n"+endedText), maxFallback)
		return append(msgs[:n-1:n-1], last)
	}
	return append(msgs, message{Text: endedText, Blocks: []slack.Block{ended}})
}

// postTurn posts a turn's messages in order and, when all were posted,
// confirms outbox entry id to the engine. What is not confirmed stays in
// the outbox, for the sweeper.
func (a *Adapter) postTurn(ctx context.Context, h bot.Handler, to bot.Address, id string, msgs []message, onFail func(error)) {
	if !a.postAll(ctx, to, msgs, onFail) {
		if id != "" {
			a.postsLeft.Add(1)
		}
		return
	}
	a.confirm(ctx, h, to, id)
	a.postsDone.Add(1)
}

// confirm tells the engine that outbox entry id of the conversation at to
// was posted.
func (a *Adapter) confirm(ctx context.Context, h bot.Handler, to bot.Address, id string) {
	if id == "" {
		return
	}
	c := a.confirmer
	if c == nil {
		var ok bool
		if c, ok = find[bot.OutboxConfirmer](h); !ok {
			return
		}
	}
	if err := c.Delivered(ctx, to, id); err != nil {
		a.log.Warn("could not record posted replies; the outbox sweeper may post them again", "conversation", bot.LogKey(to.Key()), "err", bot.RedactURL(err))
	}
}

// handedOff reports whether a turn's replies end with the engine telling
// the person that staff will follow up; the "conversation has ended" note
// would then contradict it.
func handedOff(replies []bot.Reply) bool {
	return len(replies) > 0 && replies[len(replies)-1].Text == bot.HandoffNotice
}

// noteEnding keeps a.waiting in step with how a turn ended: a conversation
// handed to staff (or still being handed over, or whose handoff failed: the
// person is told to send a message later) keeps taking the person's thread
// replies; one that ended
// otherwise (resolved, stopped) no longer does, so that a "thanks" does
// not start a new conversation.
func (a *Adapter) noteEnding(to bot.Address, res bot.Result) {
	if to.Thread == "" || len(res.Replies) == 0 {
		return
	}
	switch last := res.Replies[len(res.Replies)-1].Text; {
	case last == bot.HandoffNotice || last == bot.HandoffDelayedNotice || last == bot.HandoffFailedNotice:
		a.waiting.add(to.Key())
	case res.Done:
		a.waiting.remove(to.Key())
	}
}

// turnEphemeral hands m to h and shows the replies to user only: the
// answer to a stale click.
func (a *Adapter) turnEphemeral(ctx context.Context, h bot.Handler, m bot.Message, user string) {
	res, err := h.Handle(ctx, m)
	if err != nil {
		a.log.Error("handling a Slack click failed", "err", bot.RedactURL(err))
		a.ephemeralNote(ctx, m.Channel, m.Thread, user, bot.TroubleReply)
		return
	}
	if len(res.Replies) == 0 || (res.Duplicate && res.Outbox == "") {
		return
	}
	msgs := renderTurn(res.Replies, res.Step, convo{Thread: m.Thread, User: m.User, GuideVersion: res.GuideVersion, Typed: m.Text})
	a.later(ctx, m.Address.Key(), func(ctx context.Context) {
		for _, msg := range msgs {
			if err := a.ephemeral(ctx, m.Channel, m.Thread, user, msg); err != nil {
				return
			}
		}
		a.confirm(ctx, h, m.Address, res.Outbox)
	})
}

// postMessages posts msgs in order to the conversation at to (after the
// delivery is acknowledged, inside one).
func (a *Adapter) postMessages(ctx context.Context, to bot.Address, msgs []message, onFail func(error)) {
	a.later(ctx, to.Key(), func(ctx context.Context) { a.postAll(ctx, to, msgs, onFail) })
}

// postAll posts msgs in order now and reports whether all were posted.
func (a *Adapter) postAll(ctx context.Context, to bot.Address, msgs []message, onFail func(error)) bool {
	for i, msg := range msgs {
		ts, err := a.post(ctx, to.Channel, to.Thread, msg)
		if err != nil {
			if i == 0 && onFail != nil && !errors.Is(err, context.Canceled) {
				onFail(err)
			}
			return false
		}
		if msg.Step != "" && ts != "" {
			a.questions.set(to.Key(), postedQuestion{ts: ts, msg: msg})
		}
	}
	return true
}

// ephemeralNote shows text to user only (after the delivery is
// acknowledged, inside one).
func (a *Adapter) ephemeralNote(ctx context.Context, channel, thread, user, text string) {
	a.later(ctx, laterKey(ctx, channel), func(ctx context.Context) {
		if err := a.ephemeral(ctx, channel, thread, user, note(text)); err != nil {
			a.log.Warn("could not post an ephemeral note", "err", bot.RedactURL(err))
		}
	})
}

// laterKey is the post queue for adapter notes: the running delivery's
// key, or the channel outside one.
func laterKey(ctx context.Context, channel string) string {
	if j := jobOf(ctx); j != nil {
		return j.key
	}
	return channel
}

// ephemeralRaw is ephemeralNote for adapter-written mrkdwn whose variable
// parts the caller has escaped.
func (a *Adapter) ephemeralRaw(ctx context.Context, channel, thread, user, mrkdwnText string) {
	m := message{Text: mrkdwnText, Blocks: []slack.Block{
		slack.NewSectionBlock(mdText(mrkdwnText), nil, nil),
	}}
	a.later(ctx, laterKey(ctx, channel), func(ctx context.Context) {
		if err := a.ephemeral(ctx, channel, thread, user, m); err != nil {
			a.log.Warn("could not post an ephemeral note", "err", bot.RedactURL(err))
		}
	})
}
