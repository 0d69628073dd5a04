package discord

import (
	"context"
	"errors"
	"strings"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// handleMessage handles a MESSAGE_CREATE: DMs, mentions of the bot, and
// (with the Message Content intent) plain messages in the bot's threads.
func (a *Adapter) handleMessage(h bot.Handler, msg *discordgo.Message) {
	defer a.recoverPanic("message", msg.ID)
	if msg.Author == nil || msg.Author.Bot || msg.Type != discordgo.MessageTypeDefault && msg.Type != discordgo.MessageTypeReply {
		return
	}
	a.mu.Lock()
	botID := a.botID
	a.mu.Unlock()
	if botID == "" || msg.Author.ID == botID {
		return
	}
	ctx, cancel := context.WithTimeout(a.baseContext(), turnTimeout)
	defer cancel()
	author := msg.Author.ID
	m := bot.Message{ID: msg.ID, Text: stripMention(msg.Content, botID), Time: msg.Timestamp}
	if strings.TrimSpace(m.Text) == "" && msg.GuildID != "" {
		// Nothing readable: no Message Content intent, or just a mention.
		// A bare mention still starts (or resumes) a conversation.
		if !mentions(msg, botID) {
			return
		}
	}
	var err error
	switch {
	case msg.GuildID == "":
		m.Address = bot.Address{Platform: Platform, Channel: msg.ChannelID, User: author}
		err = a.turn(ctx, h, m, false, a.toChannel(msg.ChannelID, ""))
	case mentions(msg, botID):
		err = a.onMention(ctx, h, msg, m)
	default:
		if !a.cfg.MessageContent {
			return
		}
		info, lerr := a.channelInfo(msg.ChannelID)
		if lerr != nil || !info.Thread || !info.Ours {
			return
		}
		// Only the person whose conversation the thread holds talks to
		// the bot there; others (staff helping after a handoff, friends)
		// must not start conversations of their own in it.
		owner, oerr := a.threadOwner(msg.ChannelID, info)
		if oerr != nil {
			a.log.Warn("ignoring a message in a thread whose owner is unknown", "channel", msg.ChannelID, "err", bot.RedactURL(oerr))
			return
		}
		if owner != author {
			return
		}
		m.Address = bot.Address{Platform: Platform, Workspace: msg.GuildID, Channel: info.Parent, Thread: msg.ChannelID, User: author}
		err = a.turn(ctx, h, m, false, a.toChannel(msg.ChannelID, ""))
	}
	if err != nil {
		a.log.Error("message failed", "message", msg.ID, "err", bot.RedactURL(err))
	}
}

// onMention handles a message that mentions the bot in a guild channel.
func (a *Adapter) onMention(ctx context.Context, h bot.Handler, msg *discordgo.Message, m bot.Message) error {
	author := msg.Author.ID
	info, err := a.channelInfo(msg.ChannelID)
	if err != nil {
		_, serr := a.session.ChannelMessageSendComplex(msg.ChannelID, &discordgo.MessageSend{
			Content: bot.TroubleReply, Reference: msg.Reference(), AllowedMentions: noMentions(),
		})
		return errors.Join(err, serr)
	}
	if info.Thread {
		if info.Ours {
			// Someone else's conversation thread: a mention there (staff
			// talking about the bot, say) is not a new conversation.
			owner, err := a.threadOwner(msg.ChannelID, info)
			if err != nil || owner != author {
				return err
			}
		}
		m.Address = bot.Address{Platform: Platform, Workspace: msg.GuildID, Channel: info.Parent, Thread: msg.ChannelID, User: author}
		return a.turn(ctx, h, m, false, a.toChannel(msg.ChannelID, ""))
	}
	switch a.cfg.Mode {
	case ModeDM:
		dm, err := a.session.UserChannelCreate(author)
		said := false
		if err == nil {
			m.Address = bot.Address{Platform: Platform, Channel: dm.ID, User: author}
			err = a.turn(ctx, h, m, strings.TrimSpace(m.Text) == "", watch(a.toChannel(dm.ID, ""), &said))
		}
		if err == nil && said {
			// Say where the answer went, as /troubleshoot does.
			_, err = a.session.ChannelMessageSendComplex(msg.ChannelID, &discordgo.MessageSend{
				Content: "I've sent you a direct message — let's continue there.", Reference: msg.Reference(), AllowedMentions: noMentions(),
			})
			return err
		}
		if err != nil {
			_, serr := a.session.ChannelMessageSendComplex(msg.ChannelID, &discordgo.MessageSend{
				Content:         "I couldn't send you a direct message. Please allow direct messages from server members, or use /" + CommandName + ".",
				Reference:       msg.Reference(),
				AllowedMentions: noMentions(),
			})
			return errors.Join(err, serr)
		}
		return nil
	case ModeThread:
		th, err := a.session.MessageThreadStart(msg.ChannelID, msg.ID, threadName(msg.Author), threadArchiveMinutes)
		if err == nil {
			a.remember(th.ID, channelInfo{Thread: true, Parent: msg.ChannelID, Ours: true, Owner: author})
			m.Address = bot.Address{Platform: Platform, Workspace: msg.GuildID, Channel: msg.ChannelID, Thread: th.ID, User: author}
			return a.turn(ctx, h, m, false, a.toChannel(th.ID, ""))
		}
		a.log.Warn("could not open a thread; answering in the channel", "channel", msg.ChannelID, "err", bot.RedactURL(err))
	}
	// Ephemeral mode (messages cannot be ephemeral) or no thread: answer
	// in the channel.
	// A mention with words answers the conversation in progress (without
	// the Message Content intent, mentioning the bot is how a person types
	// an answer); a bare one shows where it stands.
	m.Address = bot.Address{Platform: Platform, Workspace: msg.GuildID, Channel: msg.ChannelID, User: author}
	return a.turn(ctx, h, m, strings.TrimSpace(m.Text) == "", a.toChannel(msg.ChannelID, ""))
}

// mentions reports whether msg mentions the user id.
func mentions(msg *discordgo.Message, id string) bool {
	for _, u := range msg.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return false
}

// stripMention removes mentions of the bot (<@id> and <@!id>) from text.
func stripMention(text, botID string) string {
	if botID == "" {
		return strings.TrimSpace(text)
	}
	text = strings.ReplaceAll(text, "<@!"+botID+">", " ")
	text = strings.ReplaceAll(text, "<@"+botID+">", " ")
	return strings.TrimSpace(text)
}
