package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// Handoff posts: what staff see in the support channel, and the Close
// button that hands the conversation back to the bot.
const (
	// closeActionID is the action id of the Close button on handoff posts.
	closeActionID = "ts_close"
	// closePrefix starts a Close button's value; the digit is the
	// encoding's version.
	closePrefix = "tbclose1"
	// Block ids of a handoff post's parts, so that closing can drop the
	// group mention, the button and its hint.
	handoffPingBlock    = "ts_handoff_ping"
	handoffActionsBlock = "ts_handoff_actions"
	handoffHintBlock    = "ts_handoff_hint"
	// maxSummarySections bounds the sections a summary may fill (3000
	// characters each); the rest is cut with a note, since staff can read
	// the whole conversation in its thread.
	maxSummarySections = 3
	maxTitle           = 150
)

// Messages the adapter says to staff.
const (
	handoffHint       = "When you're done helping, press *Close*: the person is told, and the bot answers them again."
	closedText        = "✅ Closed by <@%s> %s."
	alreadyClosedText = "This handoff is no longer waiting for staff: it was already closed, or the person restarted the conversation with the bot."
	noCloserText      = "This bot can't close handoffs in its current setup, so nothing was changed. Tell the person directly that you're done."
	closeTroubleText  = "Sorry, I couldn't close this handoff just now. Please press Close again in a moment."
	notifyFailedText  = "The handoff is closed, but I couldn't tell the person so in their conversation. Please let them know."
	summaryCutText    = "… (summary cut here; the whole conversation is in the thread)"
)

// handoffPostTimeout bounds a handoff post made from a delivery's turn,
// once the delivery is acknowledged: well within the minute after which
// the engine's sweeper retries a pending handoff, so both never post it.
const handoffPostTimeout = 30 * time.Second

var _ bot.HandoffPoster = (*Adapter)(nil)
var _ bot.Sender = (*Adapter)(nil)

// errNoSupportChannel is PostHandoff's error when handoffs are off.
var errNoSupportChannel = errors.New("slack: no support_channel configured; handoffs are off")

// PostHandoff implements bot.HandoffPoster: it posts h to the support
// channel as Block Kit — the support group's mention (when configured),
// who asked, the guide, when it started and escalated, a link to the
// conversation, the summary, and a Close button — and returns once Slack
// accepted the post. Everything the person typed is escaped, so the only
// mention that can notify anyone is the support group's (and the person's
// own, shown as who asked). It blocks while posting is paced or Slack
// says to wait (within ctx); errors are Slack's (not_in_channel: invite
// the bot to the channel) or ctx's. Posts go through the same paced,
// bounded path as replies (call). Called from inside a delivery's turn
// (the engine posts after saving the turn), it lets the delivery be
// acknowledged at once and posts within handoffPostTimeout instead of
// ctx: acks never wait on the support channel. Safe for concurrent use.
func (a *Adapter) PostHandoff(ctx context.Context, h bot.Handoff) error {
	if a.cfg.SupportChannel == "" {
		return errNoSupportChannel
	}
	if h.Address.Channel == "" || h.Address.User == "" {
		return errors.New("slack: handoff without a conversation address")
	}
	if savedEarly(ctx) {
		// Called from a delivery's turn: the engine posts the handoff
		// once the turn is saved, so the delivery is acknowledged now
		// rather than after the support channel's pacing and Slack's
		// latency. The delivery's context ends with its request, so the
		// post gets a deadline of its own, short of the minute after
		// which the engine's sweeper takes a pending handoff over.
		// It ends with the posts' context too, at the end of the
		// shutdown grace: the pending handoff is then left to the
		// sweeper (of this replica or another).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(a.posts.ctx, handoffPostTimeout)
		defer cancel()
	}
	link := a.conversationLink(ctx, h.Address)
	msg, err := renderHandoff(h, a.cfg.SupportGroup, link)
	if err != nil {
		return err
	}
	if _, err := a.post(ctx, a.cfg.SupportChannel, "", msg); err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "not_in_channel" || se.Err == "channel_not_found") {
			return fmt.Errorf("slack: posting the handoff to support_channel %s: %w (invite the bot there: /invite @Troubleshooter)", a.cfg.SupportChannel, err)
		}
		return fmt.Errorf("slack: posting the handoff to support_channel %s: %w", a.cfg.SupportChannel, bot.RedactURL(err))
	}
	a.waiting.add(h.Address.Key())
	return nil
}

// conversationLink returns a link staff can open to the person's
// conversation: its thread's permalink, or Slack's app_redirect to the
// channel when the permalink call fails; "" for a DM, which staff cannot
// open.
func (a *Adapter) conversationLink(ctx context.Context, to bot.Address) string {
	if isDM(to.Channel, "") {
		return ""
	}
	if to.Thread != "" {
		var link string
		err := a.call(ctx, to.Channel, "chat.getPermalink", func(ctx context.Context) error {
			var err error
			link, err = a.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: to.Channel, Ts: to.Thread})
			return err
		})
		if err == nil && safeLink(link) {
			return link
		}
		a.log.Warn("no permalink for a handoff; linking the channel instead", "err", bot.RedactURL(err))
	}
	q := url.Values{"channel": {to.Channel}}
	if to.Workspace != "" {
		q.Set("team", to.Workspace)
	}
	return "https://slack.com/app_redirect?" + q.Encode()
}

// safeLink reports whether u can go into <u|text> as it is: an absolute
// http(s) URL with nothing that could end the link early.
func safeLink(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" &&
		!strings.ContainsAny(u, "<>| \t\n\r") && len(u) <= 1000
}

// renderHandoff builds the support channel post for h.
func renderHandoff(h bot.Handoff, group, link string) (message, error) {
	ref := closeRefAt(h.Address, h.Started)
	if len(ref) > maxActionValue {
		return message{}, errors.New("slack: the conversation's address is too long for a Close button")
	}
	title := strings.TrimSpace(h.GuideTitle)
	if title == "" {
		title = h.Guide
	}
	title = escape(clip(title, maxTitle))
	who := "<@" + escape(h.Address.User) + ">"

	var blocks []slack.Block
	fallback := "Handoff: " + who + " needs a person (" + title + ")"
	if group != "" {
		ping := "<!subteam^" + group + ">"
		blocks = append(blocks, slack.NewSectionBlock(mdText(ping+" a person is needed"), nil, nil, slack.SectionBlockOptionBlockID(handoffPingBlock)))
		fallback = ping + " " + fallback
	}
	blocks = append(blocks, slack.NewSectionBlock(mdText("*Handoff:* "+who+" needs help from a person with *"+title+"*."), nil, nil))
	where := "a direct message with the bot: staff can't see it, so message " + who + " directly"
	if link != "" {
		where = "<" + escape(link) + "|open the conversation>"
		if h.Address.Thread != "" {
			where += " (reply in its thread)"
		}
	}
	fields := []*slack.TextBlockObject{
		mdText("*Guide*\n" + title),
		mdText("*Conversation*\n" + where),
	}
	if !h.Started.IsZero() {
		fields = append(fields, mdText("*Started*\n"+slackDate(h.Started)))
	}
	if !h.At.IsZero() {
		fields = append(fields, mdText("*Escalated*\n"+slackDate(h.At)))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	summary := strings.TrimSpace(h.Summary)
	if summary == "" {
		summary = "(no summary)"
	}
	parts := chunks(mrkdwn(summary), maxSectionText)
	if len(parts) > maxSummarySections {
		parts = parts[:maxSummarySections]
		last := clip(parts[maxSummarySections-1], maxSectionText-len([]rune(summaryCutText))-1)
		parts[maxSummarySections-1] = last + "\n" + summaryCutText
	}
	for _, p := range parts {
		blocks = append(blocks, slack.NewSectionBlock(mdText(p), nil, nil))
	}
	button := slack.NewButtonBlockElement(closeActionID, ref, slack.NewTextBlockObject(slack.PlainTextType, "Close", false, false)).
		WithStyle(slack.StylePrimary).
		WithConfirm(slack.NewConfirmationBlockObject(
			slack.NewTextBlockObject(slack.PlainTextType, "Close this handoff?", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "The person is told the support team closed the conversation, and the bot answers them again.", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Close", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false)))
	blocks = append(blocks,
		slack.NewActionBlock(handoffActionsBlock, button),
		slack.NewContextBlock(handoffHintBlock, mdText(handoffHint)))
	return message{Text: clip(fallback, maxFallback), Blocks: blocks}, nil
}

// slackDate renders t with Slack's date formatting, so every reader sees
// their own time zone; the fallback is UTC.
func slackDate(t time.Time) string {
	return "<!date^" + strconv.FormatInt(t.Unix(), 10) + "^{date_short_pretty} {time}|" + t.UTC().Format("2006-01-02 15:04 UTC") + ">"
}

// closeRefAt is closeRef followed by |started (Unix seconds) when started
// is set, so that a Close button closes only the handoff it was posted for.
func closeRefAt(a bot.Address, started time.Time) string {
	if started.IsZero() {
		return closeRef(a)
	}
	return closeRef(a) + "|" + strconv.FormatInt(started.Unix(), 10)
}

// closeStarted is the handoff start a Close button value carries, zero for
// none (buttons posted before it was added) or an unreadable one.
func closeStarted(v string) time.Time {
	parts := strings.Split(v, "|")
	if len(parts) != 6 {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(parts[5], 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// closeRef encodes a as a Close button value:
// tbclose1|workspace|channel|thread|user, each field escaped with
// bot.EscapeRefField so that no field can forge a separator.
func closeRef(a bot.Address) string {
	return strings.Join([]string{closePrefix, bot.EscapeRefField(a.Workspace), bot.EscapeRefField(a.Channel),
		bot.EscapeRefField(a.Thread), bot.EscapeRefField(a.User)}, "|")
}

// parseCloseRef decodes a Close button value made by closeRef (or
// closeRefAt: a sixth field, digits, is allowed and read by closeStarted).
// It never panics; it refuses anything but our prefix, five fields, valid escapes
// and id-shaped fields (team T…/E… or empty, channel C…/G…/D…, thread a
// Slack ts or empty, user U…/W…), so a value can only name a conversation
// address the adapter could have made.
func parseCloseRef(v string) (bot.Address, error) {
	if len(v) > maxActionValue {
		return bot.Address{}, fmt.Errorf("close value is %d bytes, more than %d", len(v), maxActionValue)
	}
	parts := strings.Split(v, "|")
	if parts[0] != closePrefix {
		return bot.Address{}, errNotOurs
	}
	if len(parts) == 6 {
		if sec, err := strconv.ParseInt(parts[5], 10, 64); err != nil || sec <= 0 || strconv.FormatInt(sec, 10) != parts[5] {
			return bot.Address{}, errors.New("close value: bad start time")
		}
		parts = parts[:5]
	}
	if len(parts) != 5 {
		return bot.Address{}, fmt.Errorf("close value has %d fields, want 5", len(parts))
	}
	var f [4]string
	for i, p := range parts[1:] {
		d, err := bot.UnescapeRefField(p)
		if err != nil {
			return bot.Address{}, fmt.Errorf("close value field %d: %w", i+1, err)
		}
		f[i] = d
	}
	a := bot.Address{Platform: Platform, Workspace: f[0], Channel: f[1], Thread: f[2], User: f[3]}
	switch {
	case a.Workspace != "" && !validID(a.Workspace, "TE"):
		return bot.Address{}, errors.New("close value: bad team id")
	case !validID(a.Channel, "CGD"):
		return bot.Address{}, errors.New("close value: bad channel id")
	case a.Thread != "" && !validTS(a.Thread):
		return bot.Address{}, errors.New("close value: bad thread ts")
	case !validID(a.User, "UW"):
		return bot.Address{}, errors.New("close value: bad user id")
	}
	return a, nil
}

// validTS reports whether s looks like a Slack message ts: digits, a dot,
// digits.
func validTS(s string) bool {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(sec) == 0 || len(sec) > 12 || len(frac) == 0 || len(frac) > 9 {
		return false
	}
	for _, c := range sec + frac {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fromCloseClick converts a click on a handoff post's Close button into a
// delivery, or nil for a click that is not one (an unreadable value, a
// post outside the support channel).
func (a *Adapter) fromCloseClick(h bot.Handler, cb slack.InteractionCallback, act *slack.BlockAction) *delivery {
	to, err := parseCloseRef(act.Value)
	if err != nil {
		a.log.Warn("ignoring a Close click with an unreadable value", "err", err)
		return nil
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	staff := cb.User.ID
	if staff == "" || channel == "" {
		return nil
	}
	if a.cfg.SupportChannel == "" || channel != a.cfg.SupportChannel {
		// Only posts in the support channel close handoffs; a Close
		// button anywhere else is not one the adapter posted lately.
		a.log.Warn("ignoring a Close click outside the support channel", "channel", channel)
		return nil
	}
	id := "close:" + cb.TriggerID
	if cb.TriggerID == "" {
		id = "close:" + act.ActionTs + ":" + staff
	}
	msgTS := cb.Container.MessageTs
	if msgTS == "" {
		msgTS = cb.Message.Timestamp
	}
	blocks := cb.Message.Blocks.BlockSet
	started := closeStarted(act.Value)
	return &delivery{id: id, key: to.Key(), do: func(ctx context.Context) {
		a.closeHandoff(ctx, h, to, started, channel, msgTS, staff, blocks)
	}}
}

// closeHandoff does what a Close click asks: the engine closes the
// handoff, the person is told in their conversation, and the post shows
// who closed it, without the button.
func (a *Adapter) closeHandoff(ctx context.Context, h bot.Handler, to bot.Address, started time.Time, channel, msgTS, staff string, blocks []slack.Block) {
	closer, ok := find[bot.HandoffCloser](h)
	if !ok {
		a.log.Warn("a Close click, but the handler cannot close handoffs")
		a.ephemeralNote(ctx, channel, "", staff, noCloserText)
		return
	}
	replies, closed, err := closer.CloseHandoff(ctx, to, started)
	if err != nil {
		a.log.Error("closing a handoff failed", "conversation", bot.LogKey(to.Key()), "err", bot.RedactURL(err))
		a.ephemeralNote(ctx, channel, "", staff, closeTroubleText)
		return
	}
	var status string
	if closed {
		a.log.Info("handoff closed by staff", "conversation", bot.LogKey(to.Key()))
		if err := a.send(ctx, to, replies); err != nil {
			a.ephemeralNote(ctx, channel, "", staff, notifyFailedText)
		}
		status = fmt.Sprintf(closedText, escape(staff), slackDate(time.Now()))
	} else {
		// The post is left alone: a second click racing the first one
		// that closed it must not overwrite "Closed by …".
		a.ephemeralNote(ctx, channel, "", staff, alreadyClosedText)
		return
	}
	if msgTS == "" {
		return
	}
	text := "Handoff closed by <@" + escape(staff) + ">"
	if err := a.update(ctx, channel, msgTS, message{Text: text, Blocks: closedBlocks(blocks, status)}); err != nil {
		a.log.Warn("could not mark the handoff post closed", "err", bot.RedactURL(err))
	}
}

// closedBlocks rebuilds a handoff post after a Close click: the group
// mention (so an edit cannot notify again), the button and its hint are
// dropped, and status is added at the end.
func closedBlocks(orig []slack.Block, status string) []slack.Block {
	out := make([]slack.Block, 0, len(orig)+1)
	for _, b := range orig {
		switch b.ID() {
		case handoffPingBlock, handoffActionsBlock, handoffHintBlock:
			continue
		}
		if b.BlockType() == slack.MBTAction {
			continue
		}
		out = append(out, b)
	}
	if len(out) >= maxBlocks {
		out = out[:maxBlocks-1]
	}
	return append(out, slack.NewContextBlock("", mdText(status)))
}

// Send implements bot.Sender: it posts replies, in order, into the
// conversation at to (its thread, or the DM), paced and honouring 429s
// like every post, and returns once Slack accepted them, or the first
// error: wrapping bot.ErrUndeliverable when no retry can fix it (the
// channel is gone or closed to the bot, the message is rejected; see
// isUndeliverable), so that the engine drops those replies instead of
// trying again. It runs on the conversation's post queue, so a reminder never lands
// between the messages of a turn. Choices are listed as numbered lines (a
// notice is not tied to a question, so it carries no buttons); the person
// can type the number or the label. While max_queued_turns turns wait to
// be posted it fails at once (the caller, the engine's sweeper, tries
// again later). Safe for concurrent use; not for use from inside a
// delivery (use send).
func (a *Adapter) Send(ctx context.Context, to bot.Address, replies []bot.Reply) error {
	done := make(chan error, 1)
	if !a.posts.admit() {
		// The sweeper tries again later; its entry stays in the outbox.
		return fmt.Errorf("slack: sending to a conversation: %w", errQueueFull)
	}
	a.posts.push(to.Key(), func(context.Context) { done <- a.send(ctx, to, replies) }, true)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send is Send without the worker: for deliveries, which already run on
// the conversation's worker.
func (a *Adapter) send(ctx context.Context, to bot.Address, replies []bot.Reply) error {
	if to.Platform != "" && to.Platform != Platform {
		return fmt.Errorf("slack: cannot send to a %s conversation: %w", to.Platform, bot.ErrUndeliverable)
	}
	if to.Channel == "" {
		return fmt.Errorf("slack: Send needs a channel: %w", bot.ErrUndeliverable)
	}
	plainReplies := make([]bot.Reply, 0, len(replies))
	done := false
	for _, r := range replies {
		if len(r.Choices) > 0 {
			var b strings.Builder
			b.WriteString(r.Text)
			for i, ch := range r.Choices {
				fmt.Fprintf(&b, "\n%d. %s", i+1, ch.Label)
			}
			r.Text, r.Choices = b.String(), nil
		}
		done = done || r.Done
		plainReplies = append(plainReplies, r)
	}
	for _, m := range renderTurn(plainReplies, "", convo{Thread: to.Thread, User: to.User, NoLinks: true}) {
		if _, err := a.post(ctx, to.Channel, to.Thread, m); err != nil {
			return sendError(err)
		}
	}
	if done && to.Thread != "" {
		// An expiry notice invites the person to reply to resume, and a
		// closed handoff to start again: follow their thread replies.
		a.waiting.add(to.Key())
	}
	return nil
}
