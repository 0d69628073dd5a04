package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

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
			a.questions.forget(addr.Key(), msgTS)
			answered := message{Text: text, Blocks: blocks}
			// The click's own response URL first: it is not paced with
			// the channel's posts, so the click shows at once.
			if cb.ResponseURL != "" {
				err := a.replaceClicked(ctx, cb.ResponseURL, answered)
				if err == nil {
					return
				}
				a.log.Debug("could not answer the click through its response URL; editing the message", "err", bot.RedactURL(err))
			}
			if err := a.update(ctx, channel, msgTS, answered); err != nil {
				a.log.Warn("could not mark the question answered", "err", bot.RedactURL(err))
			}
		})
	}}
}
