package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack/slackevents"

	"troubleshooter/bot"
)

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

// isDM reports whether a channel is a direct message.
func isDM(channel, channelType string) bool {
	return channelType == "im" || (channelType == "" && strings.HasPrefix(channel, "D"))
}
