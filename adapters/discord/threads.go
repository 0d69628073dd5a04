package discord

import (
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// channelInfo is what the adapter knows about one channel.
type channelInfo struct {
	Thread bool   // a thread
	Parent string // for a thread, its parent channel
	Ours   bool   // a thread the bot created
	Owner  string // for our threads, the person whose conversation it holds ("" if unknown)
}

// threadName names a conversation's thread after its owner.
func threadName(u *discordgo.User) string {
	name := u.GlobalName
	if name == "" {
		name = u.Username
	}
	if name == "" {
		name = u.ID
	}
	return trimText("Troubleshooting: "+name, 100)
}

// guildAddress is the conversation address of user in a guild channel,
// which may be a thread. It fails when the channel cannot be looked up:
// guessing would file the answer under the wrong conversation.
//
// i is the interaction whose turn this is, once its initial response was
// given (see channelInfoFor).
func (a *Adapter) guildAddress(i *discordgo.Interaction, guild, channel, user string) (bot.Address, error) {
	info, err := a.channelInfoFor(i, channel)
	if err != nil {
		return bot.Address{}, err
	}
	if info.Thread {
		return bot.Address{Platform: Platform, Workspace: guild, Channel: info.Parent, Thread: channel, User: user}, nil
	}
	return bot.Address{Platform: Platform, Workspace: guild, Channel: channel, User: user}, nil
}

// interactionAddress is the conversation a component interaction belongs
// to: its owner in the channel (or thread, or DM) the component lives in.
func (a *Adapter) interactionAddress(i *discordgo.Interaction, owner string) (bot.Address, error) {
	if i.GuildID == "" {
		return bot.Address{Platform: Platform, Channel: i.ChannelID, User: owner}, nil
	}
	return a.guildAddress(i, i.GuildID, i.ChannelID, owner)
}

// remember records what the bot knows about a channel.
func (a *Adapter) remember(id string, info channelInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.channels) >= maxRemembered {
		clear(a.channels)
	}
	a.channels[id] = info
}

// channelInfo says whether a channel is a thread (and its parent), from
// the cache, the gateway state, or one REST lookup that is then cached.
func (a *Adapter) channelInfo(id string) (channelInfo, error) {
	return a.channelInfoFor(nil, id)
}

// channelInfoFor is channelInfo within the turn of interaction i (nil for
// none), after its initial response was given. An HTTP interaction's
// response is held until its turn is saved; a REST lookup would make it
// wait on Discord's latency, so it is released first (as a turn's first
// reply releases it), and the ack never waits on REST
// (TestHTTPAcksDoNotWaitForREST).
func (a *Adapter) channelInfoFor(i *discordgo.Interaction, id string) (channelInfo, error) {
	a.mu.Lock()
	info, ok := a.channels[id]
	botID := a.botID
	a.mu.Unlock()
	if ok {
		return info, nil
	}
	ch, err := a.session.State.Channel(id)
	if err != nil || ch == nil {
		if err := a.ready(i); err != nil {
			return channelInfo{}, fmt.Errorf("initial response: %w", err)
		}
		ch, err = a.getChannel(id)
	}
	if err != nil {
		a.log.Warn("could not look up a channel", "channel", id, "err", bot.RedactURL(err))
		return channelInfo{}, fmt.Errorf("look up channel %s: %w", id, err)
	}
	info = channelInfo{Thread: ch.IsThread() && ch.ParentID != "", Parent: ch.ParentID}
	info.Ours = info.Thread && botID != "" && ch.OwnerID == botID
	a.remember(id, info)
	return info, nil
}

// threadOwner returns the person whose conversation the bot's thread id
// holds. It is known when this process opened the thread; otherwise it
// comes from the thread's starter message (a thread started from a
// message shares its id), once, then cached: the person's own message
// that mentioned the bot, or the bot's "Troubleshooting for <@person>"
// intro.
func (a *Adapter) threadOwner(id string, info channelInfo) (string, error) {
	if info.Owner != "" {
		return info.Owner, nil
	}
	if info.Parent == "" {
		return "", fmt.Errorf("thread %s has no parent channel", id)
	}
	msg, err := a.getMessage(info.Parent, id)
	if err != nil {
		return "", fmt.Errorf("look up the starter message of thread %s: %w", id, err)
	}
	a.mu.Lock()
	botID := a.botID
	a.mu.Unlock()
	owner := ""
	switch {
	case msg.Author == nil:
	case msg.Author.ID != botID:
		owner = msg.Author.ID
	default:
		owner = firstUserMention(msg.Content)
	}
	if !isSnowflake(owner) {
		return "", fmt.Errorf("thread %s: cannot tell whose conversation it holds", id)
	}
	info.Owner = owner
	a.remember(id, info)
	return owner, nil
}

// firstUserMention returns the id in the first <@id> or <@!id> of s, or "".
func firstUserMention(s string) string {
	for {
		k := strings.Index(s, "<@")
		if k < 0 {
			return ""
		}
		s = strings.TrimPrefix(s[k+2:], "!")
		if end := strings.IndexByte(s, '>'); end > 0 && isSnowflake(s[:end]) {
			return s[:end]
		}
	}
}

// dmChannel returns the id of the DM channel with user, asking Discord
// once per person. A DM channel's id never changes, and discordgo files
// every "create DM" call in one rate-limit bucket that it holds for the
// whole call, so uncached, DM mode ran one conversation start at a time
// across the process (~20 a second at 50 ms).
func (a *Adapter) dmChannel(user string) (string, error) {
	a.mu.Lock()
	id, ok := a.dms[user]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	ch, err := a.session.UserChannelCreate(user)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if len(a.dms) >= maxRemembered {
		clear(a.dms)
	}
	a.dms[user] = ch.ID
	a.mu.Unlock()
	return ch.ID, nil
}
