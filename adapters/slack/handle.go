package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

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

// delivery is a parsed platform delivery, ready to be queued.
type delivery struct {
	id  string // dedupe id: event_id or trigger_id
	key string // worker key: conversations with one key are handled in order
	do  func(ctx context.Context)
}

// accept dedupes d and queues it. It returns nil for a duplicate (already
// accepted: acknowledge it and do nothing) and an error when the delivery
// could not be queued (refuse it so that Slack delivers it again).
func (a *Adapter) accept(ctx context.Context, d *delivery) error {
	if d == nil {
		return nil
	}
	// A copy arriving while an earlier one is still being queued waits
	// for it: acknowledging it as a duplicate and then refusing the
	// earlier copy would lose the delivery (Slack stops retrying after
	// any 2xx).
	for range 4 {
		settle, settled := a.seen.claim(d.id)
		switch {
		case settle != nil:
			err := a.enqueue(ctx, job{key: d.key, do: d.do})
			settle(err == nil)
			return err
		case isClosed(settled):
			a.log.Debug("duplicate delivery ignored", "id", d.id)
			return nil
		}
		// Pending: wait, then look again (kept: a duplicate; refused:
		// this copy claims it).
		select {
		case <-settled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errQueueFull
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// fromEvent converts an Events API callback into a delivery, or nil when
// the event is noise: the bot's own messages, other bots, message subtypes
// (edits, joins, deletions…), channel chatter outside conversations.
func (a *Adapter) fromEvent(h bot.Handler, ev slackevents.EventsAPIEvent) *delivery {
	if ev.Type != slackevents.CallbackEvent {
		return nil
	}
	var eventID string
	var authUser string
	switch cb := ev.Data.(type) {
	case *slackevents.EventsAPICallbackEvent:
		eventID = cb.EventID
		if len(cb.Authorizations) > 0 {
			authUser = cb.Authorizations[0].UserID
		}
	case slackevents.EventsAPICallbackEvent:
		eventID = cb.EventID
		if len(cb.Authorizations) > 0 {
			authUser = cb.Authorizations[0].UserID
		}
	}
	botUser, botID := a.self()
	if botUser == "" {
		botUser = authUser
	}
	team := ev.TeamID
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" || e.User == "" || e.User == botUser || isDM(e.Channel, "") {
			return nil // DMs arrive as message.im events
		}
		thread := e.ThreadTimeStamp
		if thread == "" {
			thread = e.TimeStamp
		}
		addr := bot.Address{Platform: Platform, Workspace: team, Channel: e.Channel, Thread: thread, User: e.User}
		text := stripMention(e.Text, botUser)
		id := engineID("ev:", eventID)
		return &delivery{id: eventID, key: addr.Key(), do: func(ctx context.Context) {
			owner := a.threads.get(e.Channel, thread)
			if owner == "" && e.ThreadTimeStamp != "" {
				if a.inProgress(ctx, h, addr) {
					owner = e.User
				} else {
					var err error
					if owner, err = a.threadOwner(ctx, e.Channel, thread); err != nil {
						// Whose thread this is stays unknown: starting a
						// conversation would make the mentioner its owner,
						// perhaps in someone else's conversation. Say so and
						// let them mention the bot again.
						a.log.Warn("could not tell who owns a thread; not starting a conversation there", "channel", e.Channel, "err", bot.RedactURL(err))
						a.ephemeralNote(ctx, e.Channel, thread, e.User, bot.TroubleReply)
						return
					}
				}
			}
			if owner != "" && owner != e.User {
				a.ephemeralRaw(ctx, e.Channel, thread, e.User, fmt.Sprintf(notYoursText, escape(owner)))
				return
			}
			a.threads.set(e.Channel, thread, e.User)
			a.turn(ctx, h, bot.Message{Address: addr, ID: id, Text: text}, nil)
		}}
	case *slackevents.MessageEvent:
		if (e.SubType != "" && e.SubType != "thread_broadcast") || e.BotID != "" || e.User == "" ||
			e.User == botUser || (botID != "" && e.BotID == botID) {
			return nil
		}
		text := unescapeEntities(e.Text)
		id := engineID("ev:", eventID)
		if isDM(e.Channel, e.ChannelType) {
			addr := bot.Address{Platform: Platform, Workspace: team, Channel: e.Channel, User: e.User}
			return &delivery{id: eventID, key: addr.Key(), do: func(ctx context.Context) {
				a.turn(ctx, h, bot.Message{Address: addr, ID: id, Text: stripMention(e.Text, botUser)}, nil)
			}}
		}
		if e.ThreadTimeStamp == "" || (botUser != "" && strings.Contains(e.Text, "<@"+botUser+">")) {
			return nil // top-level chatter, or a mention (handled as app_mention)
		}
		addr := bot.Address{Platform: Platform, Workspace: team, Channel: e.Channel, Thread: e.ThreadTimeStamp, User: e.User}
		return &delivery{id: eventID, key: addr.Key(), do: func(ctx context.Context) {
			if !a.following(ctx, h, addr) {
				return
			}
			a.turn(ctx, h, bot.Message{Address: addr, ID: id, Text: text}, nil)
		}}
	}
	return nil
}

// engineID is the Message.ID for a platform id: prefixed, or "" (no
// dedupe) when the platform sent none.
func engineID(prefix, id string) string {
	if id == "" {
		return ""
	}
	return prefix + id
}

// following reports whether a thread reply by addr.User belongs to their
// conversation: the handler knows one in progress, or the conversation
// ended in a way that still takes replies (handed to staff, closed by
// staff, expired: see Adapter.waiting), or (without a Resumer) this
// process saw, or the thread's first message shows, that addr.User started
// the thread. Replies by anyone else (staff talking with the person, say)
// are not followed: they must not start conversations of their own.
func (a *Adapter) following(ctx context.Context, h bot.Handler, addr bot.Address) bool {
	if a.waiting.has(addr.Key()) {
		return true
	}
	if r, ok := resumer(h); ok {
		res, err := r.Current(ctx, addr)
		if err == nil {
			return len(res.Replies) > 0 || res.Listening
		}
		a.log.Warn("could not look up a conversation", "err", bot.RedactURL(err))
	}
	owner, err := a.threadOwner(ctx, addr.Channel, addr.Thread)
	return err == nil && owner == addr.User
}

// inProgress reports whether the handler knows a conversation in progress
// at addr; false without a Resumer or when the lookup fails.
func (a *Adapter) inProgress(ctx context.Context, h bot.Handler, addr bot.Address) bool {
	r, ok := resumer(h)
	if !ok {
		return false
	}
	res, err := r.Current(ctx, addr)
	return err == nil && len(res.Replies) > 0
}

// errNoThread is threadOwner's error for a thread whose first message
// could not be read.
var errNoThread = errors.New("thread's first message not found")

// threadOwner returns who started the conversation in a channel thread:
// from memory, or else from the thread's first message (one
// conversations.replies call): "<@U> asked for help" posted by the bot
// (a slash command), or a message by U that mentions the bot. It returns
// "" and no error when the thread is not a conversation's, and an error
// when it could not find out (the call failed, the thread was not found):
// callers must then not guess, and nothing is remembered.
func (a *Adapter) threadOwner(ctx context.Context, channel, thread string) (string, error) {
	if owner := a.threads.get(channel, thread); owner != "" {
		return owner, nil
	}
	if a.notConvo.has(channel + "/" + thread) {
		return "", nil
	}
	botUser, botID := a.self()
	var msgs []slack.Message
	err := a.call(ctx, channel, "conversations.replies", func(ctx context.Context) error {
		var err error
		msgs, _, _, err = a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: thread, Limit: 1,
		})
		return err
	})
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 || msgs[0].Timestamp != thread {
		return "", errNoThread
	}
	owner := rootOwner(msgs[0].Msg, botUser, botID)
	if owner != "" {
		a.threads.set(channel, thread, owner)
	} else {
		// Remembered, so that chatter in other threads (staff talking
		// under a handoff post, say) costs one lookup per thread, not one
		// per message. A conversation started there later by a mention
		// is in a.threads, which is asked first.
		a.notConvo.add(channel + "/" + thread)
	}
	return owner, nil
}

// rootOwner reads who started a conversation from its thread's first
// message, or "".
func rootOwner(root slack.Msg, botUser, botID string) string {
	fromBot := (botID != "" && root.BotID == botID) || (botUser != "" && root.User == botUser)
	if fromBot {
		if rest, ok := strings.CutPrefix(root.Text, "<@"); ok {
			if end := strings.Index(rest, "> asked for help"); end > 0 && !strings.ContainsAny(rest[:end], "<>|") {
				return rest[:end]
			}
		}
		return ""
	}
	if root.User != "" && root.BotID == "" && botUser != "" && strings.Contains(root.Text, "<@"+botUser+">") {
		return root.User
	}
	return ""
}

// isDM reports whether a channel is a direct message.
func isDM(channel, channelType string) bool {
	return channelType == "im" || (channelType == "" && strings.HasPrefix(channel, "D"))
}

// fromSlash converts a slash command into a delivery: in a channel the bot
// opens a thread with the person's words and talks there; in a DM it talks
// flat.
func (a *Adapter) fromSlash(h bot.Handler, cmd slack.SlashCommand) *delivery {
	if cmd.UserID == "" || cmd.ChannelID == "" {
		return nil
	}
	dedupeID := "slash:" + cmd.TriggerID
	if cmd.TriggerID == "" {
		dedupeID = ""
	}
	return &delivery{id: dedupeID, key: "slash/" + cmd.ChannelID + "/" + cmd.UserID, do: func(ctx context.Context) {
		text := unescapeEntities(strings.TrimSpace(cmd.Text))
		addr := bot.Address{Platform: Platform, Workspace: cmd.TeamID, Channel: cmd.ChannelID, User: cmd.UserID}
		if !isDM(cmd.ChannelID, "") {
			intro := "<@" + cmd.UserID + "> asked for help"
			if text != "" {
				intro += ": “" + escape(clip(text, 500)) + "”"
			}
			ts, err := a.post(ctx, cmd.ChannelID, "", message{Text: intro, Blocks: []slack.Block{
				slack.NewSectionBlock(mdText(intro), nil, nil),
			}})
			if err != nil {
				a.cannotPost(ctx, cmd, err)
				return
			}
			addr.Thread = ts
			a.threads.set(cmd.ChannelID, ts, cmd.UserID)
		}
		if addr.Thread == "" && a.resume(ctx, h, addr) {
			return
		}
		a.turn(ctx, h, bot.Message{Address: addr, ID: dedupeID, Text: text}, func(err error) {
			a.cannotPost(ctx, cmd, err)
		})
	}}
}

// withStaffText answers /troubleshoot in a DM whose conversation is with
// the support team.
const withStaffText = "Our support team has your conversation and will reply here. Say *restart* to start over with me."

// resume handles /troubleshoot in a DM whose conversation is in progress:
// rather than take the command's words as an answer, it shows where the
// conversation is, or says that staff have it. It reports whether it did
// (it needs a Resumer).
func (a *Adapter) resume(ctx context.Context, h bot.Handler, addr bot.Address) bool {
	r, ok := resumer(h)
	if !ok {
		return false
	}
	cur, err := r.Current(ctx, addr)
	if err == nil && cur.Listening && cur.Outcome == bot.OutcomeEscalated {
		// With staff: the engine stays quiet, but the command deserves an
		// answer, for this person only.
		a.ephemeralNote(ctx, addr.Channel, "", addr.User, withStaffText)
		return true
	}
	if err != nil || len(cur.Replies) == 0 {
		return false
	}
	msgs := append([]message{note(resumeText)}, renderTurn(cur.Replies, cur.Step, convo{User: addr.User, GuideVersion: cur.GuideVersion})...)
	a.postMessages(ctx, addr, msgs, nil)
	return true
}

// cannotPost tells the person privately, through the command's response
// URL, that the bot cannot talk where they asked.
func (a *Adapter) cannotPost(ctx context.Context, cmd slack.SlashCommand, err error) {
	if cmd.ResponseURL == "" {
		return
	}
	a.log.Warn("cannot post where the slash command was used", "channel", cmd.ChannelID, "err", bot.RedactURL(err))
	if werr := slack.PostWebhookCustomHTTPContext(ctx, cmd.ResponseURL, a.httpClient(), &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral, Text: cantPostText,
	}); werr != nil {
		a.log.Warn("could not answer through the response URL", "err", bot.RedactURL(werr))
	}
}

// httpClient is used for response URLs.
func (a *Adapter) httpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second}
}

// fromInteraction converts a button click into a delivery.
func (a *Adapter) fromInteraction(h bot.Handler, cb slack.InteractionCallback) *delivery {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	var act *slack.BlockAction
	var ref actionRef
	for _, ba := range cb.ActionCallback.BlockActions {
		if ba.ActionID == closeActionID {
			return a.fromCloseClick(h, cb, ba)
		}
		if !strings.HasPrefix(ba.ActionID, actionPrefix+":") {
			continue
		}
		r, err := parseActionValue(ba.Value)
		if err != nil {
			a.log.Warn("ignoring a click with an unreadable button value", "err", bot.RedactURL(err))
			return nil
		}
		act, ref = ba, r
		break
	}
	if act == nil {
		return nil
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	clicker := cb.User.ID
	if channel == "" || clicker == "" {
		return nil
	}
	team := cb.Team.ID
	addr := bot.Address{Platform: Platform, Workspace: team, Channel: channel, Thread: ref.Thread, User: ref.User}
	id := "click:" + cb.TriggerID
	if cb.TriggerID == "" {
		id = "click:" + act.ActionTs + ":" + clicker
	}
	label := act.Text.Text
	return &delivery{id: id, key: addr.Key(), do: func(ctx context.Context) {
		if clicker != ref.User {
			a.ephemeralRaw(ctx, channel, ref.Thread, clicker, fmt.Sprintf(notYoursText, escape(ref.User)))
			return
		}
		stale := false
		if r, ok := resumer(h); ok {
			if cur, err := r.Current(ctx, addr); err == nil {
				if len(cur.Replies) == 0 && !cur.Listening {
					// Ended or unknown: a click must not silently
					// start a new conversation.
					a.ephemeralNote(ctx, channel, ref.Thread, clicker, endedText)
					return
				}
				// A conversation with staff or closed for inactivity
				// decides for itself (quiet, or the offer to resume).
				stale = !cur.Listening && (cur.Step != ref.Step || (ref.GuideVersion != "" && cur.GuideVersion != ref.GuideVersion))
			}
		}
		m := bot.Message{Address: addr, ID: id, Choice: ref.Choice, Step: ref.Step, GuideVersion: ref.GuideVersion}
		if stale {
			a.turnEphemeral(ctx, h, m, clicker)
			return
		}
		msgTS := cb.Container.MessageTs
		if msgTS == "" {
			msgTS = cb.Message.Timestamp
		}
		a.turn(ctx, h, m, nil, func(ctx context.Context) {
			if cb.Container.IsEphemeral || msgTS == "" {
				return
			}
			blocks := answeredBlocks(cb.Message.Blocks.BlockSet, act.BlockID, label)
			text := cb.Message.Text
			if text == "" {
				text = "Answered: " + escape(label)
			}
			if err := a.update(ctx, channel, msgTS, message{Text: text, Blocks: blocks}); err != nil {
				a.log.Warn("could not mark the question answered", "err", bot.RedactURL(err))
			}
		})
	}}
}

// turn hands m to h and posts the replies where the conversation lives.
// onFail, when set, is told when the first post fails; before, when set,
// runs after a successful Handle and before the replies are posted.
func (a *Adapter) turn(ctx context.Context, h bot.Handler, m bot.Message, onFail func(error), before ...func(context.Context)) {
	res, err := h.Handle(ctx, m)
	if err != nil {
		a.log.Error("handling a Slack message failed", "err", err, "channel", m.Channel)
		a.postMessages(ctx, m.Address, []message{note(bot.TroubleReply)}, onFail)
		return
	}
	if res.Duplicate || len(res.Replies) == 0 {
		// Nothing to say: a redelivery, or a conversation handed to staff,
		// where the bot stays quiet while people talk in the thread.
		return
	}
	// A turn the engine applied has a step and replies; a wrapper's
	// refusal (a throttle notice, say) has no step, and the question
	// must then keep its buttons.
	applied := res.Step != "" && len(res.Replies) > 0
	for _, f := range before {
		if !applied {
			break
		}
		f(ctx)
	}
	a.noteEnding(m.Address, res)
	msgs := renderTurn(res.Replies, res.Step, convo{Thread: m.Thread, User: m.User, GuideVersion: res.GuideVersion})
	if res.Done && m.Thread != "" && !handedOff(res.Replies) {
		msgs = append(msgs, message{Text: endedText, Blocks: []slack.Block{
			slack.NewContextBlock("", mdText(endedText)),
		}})
	}
	a.postMessages(ctx, m.Address, msgs, onFail)
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
	if res.Duplicate || len(res.Replies) == 0 {
		return
	}
	for _, msg := range renderTurn(res.Replies, res.Step, convo{Thread: m.Thread, User: m.User, GuideVersion: res.GuideVersion}) {
		if err := a.ephemeral(ctx, m.Channel, m.Thread, user, msg); err != nil {
			return
		}
	}
}

func (a *Adapter) postMessages(ctx context.Context, to bot.Address, msgs []message, onFail func(error)) {
	for i, msg := range msgs {
		if _, err := a.post(ctx, to.Channel, to.Thread, msg); err != nil {
			if i == 0 && onFail != nil && !errors.Is(err, context.Canceled) {
				onFail(err)
			}
			return
		}
	}
}

func (a *Adapter) ephemeralNote(ctx context.Context, channel, thread, user, text string) {
	if err := a.ephemeral(ctx, channel, thread, user, note(text)); err != nil {
		a.log.Warn("could not post an ephemeral note", "err", bot.RedactURL(err))
	}
}

// ephemeralRaw is ephemeralNote for adapter-written mrkdwn whose variable
// parts the caller has escaped.
func (a *Adapter) ephemeralRaw(ctx context.Context, channel, thread, user, mrkdwnText string) {
	m := message{Text: mrkdwnText, Blocks: []slack.Block{
		slack.NewSectionBlock(mdText(mrkdwnText), nil, nil),
	}}
	if err := a.ephemeral(ctx, channel, thread, user, m); err != nil {
		a.log.Warn("could not post an ephemeral note", "err", bot.RedactURL(err))
	}
}
