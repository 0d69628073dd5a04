package discord

import (
	"context"
	"errors"
	"strings"
	"time"

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
			if !a.cfg.MessageContent {
				a.hintUnreadable(msg, botID)
			}
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
		_, serr := a.sendMessage(msg.ChannelID, &discordgo.MessageSend{
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
		dm, err := a.dmChannel(author)
		said := false
		if err == nil {
			m.Address = bot.Address{Platform: Platform, Channel: dm, User: author}
			err = a.turn(ctx, h, m, strings.TrimSpace(m.Text) == "", watch(a.toChannel(dm, ""), &said))
		}
		if err == nil && said {
			// Say where the answer went, as /troubleshoot does.
			_, err = a.sendMessage(msg.ChannelID, &discordgo.MessageSend{
				Content: "I've sent you a direct message — let's continue there.", Reference: msg.Reference(), AllowedMentions: noMentions(),
			})
			return err
		}
		if err != nil {
			_, serr := a.sendMessage(msg.ChannelID, &discordgo.MessageSend{
				Content:         "I couldn't send you a direct message. Please allow direct messages from server members, or use /" + CommandName + " start.",
				Reference:       msg.Reference(),
				AllowedMentions: noMentions(),
			})
			return errors.Join(err, serr)
		}
		return nil
	case ModeThread:
		th, err := a.startThread(msg.ChannelID, msg.ID, threadName(msg.Author))
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

// hintEvery is how often, at most, a thread gets the hint that the bot
// cannot read plain messages there.
const hintEvery = 10 * time.Minute

// hintUnreadable answers a message the bot cannot read (no Message Content
// intent) in one of its conversation threads, from the thread's person,
// with what they can do instead; at most once per thread every hintEvery,
// so someone chatting there is not answered every time.
func (a *Adapter) hintUnreadable(msg *discordgo.Message, botID string) {
	info, err := a.channelInfo(msg.ChannelID)
	if err != nil || !info.Thread || !info.Ours {
		return
	}
	if owner, err := a.threadOwner(msg.ChannelID, info); err != nil || owner != msg.Author.ID {
		return
	}
	now := a.now()
	a.mu.Lock()
	if a.hinted == nil || len(a.hinted) >= maxRemembered {
		a.hinted = make(map[string]time.Time)
	}
	last, ok := a.hinted[msg.ChannelID]
	if !ok || now.Sub(last) >= hintEvery {
		a.hinted[msg.ChannelID] = now
	}
	a.mu.Unlock()
	if ok && now.Sub(last) < hintEvery {
		return
	}
	_, err = a.sendMessage(msg.ChannelID, &discordgo.MessageSend{Content: unreadableHint(botID), Reference: msg.Reference(), AllowedMentions: noMentions()})
	if err != nil {
		a.log.Warn("could not say that plain messages cannot be read", "channel", msg.ChannelID, "err", bot.RedactURL(err))
	}
}

// unreadableHint says what a person can do where the bot cannot read
// plain messages.
func unreadableHint(botID string) string {
	return "I can't read plain messages here. Answer with the buttons (✏️ opens a form to type an answer), " +
		"mention me with your answer (<@" + botID + "> 3.2 GB), or use **/" + CommandName + " stop**, **restart**, **status** or **back**."
}
