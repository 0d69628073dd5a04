package slack

import (
	"context"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

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
		if !a.claimSlash(ctx, h, dedupeID) {
			return // another replica, or this one before a restart, has it
		}
		text := unescapeEntities(strings.TrimSpace(cmd.Text))
		addr := bot.Address{Platform: Platform, Workspace: cmd.TeamID, Channel: cmd.ChannelID, User: cmd.UserID}
		if !isDM(cmd.ChannelID, "") {
			// The thread's first message is posted before the turn (the
			// thread is the conversation). Slack never delivers a slash
			// command again (it is final), so nothing is gained by
			// acknowledging it after the turn: it is acknowledged now,
			// not after Slack's latency, and the rest gets a budget of
			// its own, since the delivery's context ends with the ack.
			if j := jobOf(ctx); j != nil && j.final && savedEarly(ctx) {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), a.ackBudget)
				defer cancel()
			}
			intro := askedText(cmd.UserName, text)
			// The owner is kept in the block id, not as a mention: the
			// person ran the command and needs no ping about it, and
			// threadOwner reads the block id back after a restart.
			ts, err := a.post(ctx, cmd.ChannelID, "", message{Text: intro, Blocks: []slack.Block{
				slack.NewSectionBlock(mdText(intro), nil, nil, slack.SectionBlockOptionBlockID(askerBlockPrefix+cmd.UserID)),
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

// askerBlockPrefix starts the block id of a slash command's root post; the
// rest is the user id of the person who asked (see rootOwner).
const askerBlockPrefix = actionPrefix + ":asker:"

// askedText is the root post of a slash command in a channel: who asked
// (their name, escaped, not a mention: a mention would ping them about
// their own command) and their words.
func askedText(name, text string) string {
	intro := "Someone asked for help"
	if name = strings.TrimSpace(name); name != "" {
		intro = "*" + escape(clip(name, 80)) + "* asked for help"
	}
	if text != "" {
		intro += ": “" + escape(clip(text, 500)) + "”"
	}
	return intro
}

// slashClaimTTL is how long a slash command's trigger id stays claimed in
// the shared store: longer than Slack's retries of one command (within
// seconds) and its 5 minutes of signature freshness, so a copy delivered
// to another replica or replayed to a restarted one starts nothing.
const slashClaimTTL = 10 * time.Minute

// claimSlash claims the command's dedupe id through h (a bot.Claimer,
// such as *bot.Engine, possibly wrapped), before anything is posted. It
// reports whether this delivery is the first; without an id or a Claimer,
// or when the claim fails, it goes ahead (a rare duplicate rather than a
// lost command).
func (a *Adapter) claimSlash(ctx context.Context, h bot.Handler, id string) bool {
	c, ok := find[bot.Claimer](h)
	if id == "" || !ok {
		return true
	}
	first, err := c.Claim(ctx, "slack:"+id, slashClaimTTL)
	if err != nil {
		a.log.Warn("could not claim the slash command; handling it anyway", "err", bot.RedactURL(err))
		return true
	}
	if !first {
		a.log.Debug("duplicate slash command ignored", "id", id)
	}
	return first
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
	if cmd.ResponseURL == "" || !a.slackURL(cmd.ResponseURL) {
		return
	}
	a.log.Warn("cannot post where the slash command was used", "channel", cmd.ChannelID, "err", bot.RedactURL(err))
	if werr := slack.PostWebhookCustomHTTPContext(ctx, cmd.ResponseURL, a.hooks, &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral, Text: cantPostText,
	}); werr != nil {
		a.log.Warn("could not answer through the response URL", "err", bot.RedactURL(werr))
	}
}
