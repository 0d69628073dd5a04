package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// CommandName is the slash command that starts a conversation.
const CommandName = "troubleshoot"

// registerCommands overwrites the application's commands with
// /troubleshoot, on each configured guild or globally.
func (a *Adapter) registerCommands() error {
	cmd := a.command()
	targets := a.cfg.GuildIDs
	if len(targets) == 0 {
		targets = []string{""}
	}
	for _, g := range targets {
		if _, err := a.session.ApplicationCommandBulkOverwrite(a.cfg.ApplicationID, g, []*discordgo.ApplicationCommand{cmd}); err != nil {
			where := "globally"
			if g != "" {
				where = "on guild " + g
			}
			var rest *discordgo.RESTError
			if errors.As(err, &rest) && rest.Response != nil {
				switch rest.Response.StatusCode {
				case http.StatusUnauthorized:
					return fmt.Errorf("discord: Discord refused the bot token (HTTP 401); check DISCORD_TOKEN (Developer Portal → Bot → Reset Token)")
				case http.StatusForbidden, http.StatusNotFound:
					return fmt.Errorf("discord: register /%s %s: HTTP %d; check discord.application_id and that the bot was invited with the applications.commands scope: %w", CommandName, where, rest.Response.StatusCode, err)
				}
			}
			return fmt.Errorf("discord: register /%s %s: %w", CommandName, where, err)
		}
	}
	return nil
}

// Subcommands of /troubleshoot: "start" begins (or resumes) a
// conversation; the others send their word to the conversation where they
// are used, for people whose typed messages the bot cannot read (no
// Message Content intent).
const subStart = "start"

var wordCommands = []struct{ name, description string }{
	{"stop", "End this conversation"},
	{"restart", "Start this conversation over"},
	{"status", "Where we are in this conversation"},
	{"back", "Go back to the previous question"},
}

// command is the /troubleshoot definition: /troubleshoot start [problem]
// [guide], and /troubleshoot stop | restart | status | back.
func (a *Adapter) command() *discordgo.ApplicationCommand {
	a.mu.Lock()
	guides := append([]string(nil), a.guides...)
	a.mu.Unlock()
	opts := []*discordgo.ApplicationCommandOption{{
		Type:        discordgo.ApplicationCommandOptionString,
		Name:        "problem",
		Description: "What's wrong, in your own words (optional)",
		Required:    false,
		MaxLength:   300,
	}}
	if len(guides) > 1 {
		o := &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionString,
			Name:        "guide",
			Description: "Which guide to follow (optional)",
		}
		for _, g := range guides[:min(len(guides), 25)] {
			o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: trimText(g, 100), Value: g})
		}
		opts = append(opts, o)
	}
	subs := []*discordgo.ApplicationCommandOption{{
		Type:        discordgo.ApplicationCommandOptionSubCommand,
		Name:        subStart,
		Description: "Get step-by-step help with a problem",
		Options:     opts,
	}}
	for _, w := range wordCommands {
		subs = append(subs, &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionSubCommand,
			Name:        w.name,
			Description: w.description,
		})
	}
	dm := true
	return &discordgo.ApplicationCommand{
		Name:         CommandName,
		Type:         discordgo.ChatApplicationCommand,
		Description:  "Get step-by-step help with a problem",
		DMPermission: &dm,
		Options:      subs,
	}
}

// onCommand starts a conversation from /troubleshoot (start), or sends a
// subcommand's word to the conversation where it is used.
func (a *Adapter) onCommand(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, respond responder) error {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok || data.Name != CommandName {
		return respond(ephemeral("I don't know that command. Try /" + CommandName + " start."))
	}
	// Top-level options (the command as registered before it had
	// subcommands, in a client's cached copy) are the same as start.
	options := data.Options
	if len(options) == 1 && options[0].Type == discordgo.ApplicationCommandOptionSubCommand {
		if sub := options[0].Name; sub != subStart {
			return a.onWord(ctx, h, i, u, sub, respond)
		}
		options = options[0].Options
	}
	m := bot.Message{ID: i.ID}
	for _, o := range options {
		v, _ := o.Value.(string)
		if o.Type != discordgo.ApplicationCommandOptionString {
			continue
		}
		switch o.Name {
		case "problem":
			m.Text = v
		case "guide":
			m.Guide = v
		}
	}
	mode := a.cfg.Mode
	if i.GuildID == "" {
		mode = "" // already in DMs: converse right here
	}
	private := mode == ModeEphemeral || mode == ModeDM
	deferred := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
	if private {
		deferred.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	if err := respond(deferred); err != nil {
		return fmt.Errorf("defer: %w", err)
	}
	// After the initial response (no store access before it): a copy of
	// this interaction that another replica, or this one before a restart,
	// took starts nothing, and must not touch the response it made.
	if !a.claimInteraction(ctx, h, i.ID) {
		return nil
	}
	// In place: edit the deferred response, then followups. A turn with
	// nothing to say (a conversation staff have) must still replace the
	// deferred "thinking…" response.
	inPlace := func(addr bot.Address, eph bool) error {
		m.Address = addr
		said := false
		if err := a.turn(ctx, h, m, true, watch(a.originalThenFollowups(i, eph), &said)); err != nil || said {
			return err
		}
		return a.quietOriginal(i, eph)
	}
	switch mode {
	case "":
		return inPlace(bot.Address{Platform: Platform, Channel: i.ChannelID, User: u.ID}, false)
	case ModeEphemeral:
		addr, err := a.guildAddress(i, i.GuildID, i.ChannelID, u.ID)
		if err != nil {
			return a.troubleOriginal(i, err)
		}
		return inPlace(addr, true)
	case ModeDM:
		dm, err := a.dmChannel(u.ID)
		said := false
		if err == nil {
			m.Address = bot.Address{Platform: Platform, Channel: dm, User: u.ID}
			err = a.turn(ctx, h, m, true, watch(a.toChannel(dm, ""), &said))
		}
		note := "I've sent you a direct message — let's continue there."
		if err == nil && !said {
			note = quietNote
		}
		if err != nil {
			a.log.Warn("could not start a DM conversation", "user", bot.LogKey(u.ID), "err", bot.RedactURL(err))
			note = "I couldn't send you a direct message. Please allow direct messages from server members (Privacy Settings of this server) and try again."
		}
		_, eerr := a.editOriginal(i, &discordgo.WebhookEdit{Content: &note, AllowedMentions: noMentions()})
		return eerr
	}
	// Thread mode.
	if info, err := a.channelInfoFor(i, i.ChannelID); err == nil && info.Thread {
		// Already in a thread: converse here.
		addr, _ := a.guildAddress(i, i.GuildID, i.ChannelID, u.ID)
		return inPlace(addr, false)
	}
	intro := fmt.Sprintf("**Troubleshooting** for <@%s> continues in the thread below.", u.ID)
	orig, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &intro, AllowedMentions: noMentions()})
	var th *discordgo.Channel
	if err == nil {
		th, err = a.startThread(i.ChannelID, orig.ID, threadName(u))
	}
	if err != nil {
		a.log.Warn("could not open a thread; answering in the channel", "channel", i.ChannelID, "err", bot.RedactURL(err))
		addr, err := a.guildAddress(i, i.GuildID, i.ChannelID, u.ID)
		if err != nil {
			return a.troubleOriginal(i, err)
		}
		return inPlace(addr, false)
	}
	a.remember(th.ID, channelInfo{Thread: true, Parent: i.ChannelID, Ours: true, Owner: u.ID})
	m.Address = bot.Address{Platform: Platform, Workspace: i.GuildID, Channel: i.ChannelID, Thread: th.ID, User: u.ID}
	ping := u.ID
	if a.cfg.Ping == PingNever {
		ping = ""
	}
	return a.turn(ctx, h, m, false, a.toChannel(th.ID, ping))
}

// onWord handles /troubleshoot stop | restart | status | back: the word
// goes to the conversation where the command is used (the person's thread,
// their ephemeral conversation in this channel, or their DMs), as if they
// had typed it, and the engine's answer replaces the deferred response.
func (a *Adapter) onWord(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, word string, respond responder) error {
	known := false
	for _, w := range wordCommands {
		known = known || w.name == word
	}
	if !known {
		return respond(ephemeral("I don't know that command. Try /" + CommandName + " start."))
	}
	mode := a.cfg.Mode
	if i.GuildID == "" {
		mode = "" // in DMs: the conversation is right here
	}
	var inThread bool
	if mode == ModeThread {
		info, err := a.channelInfo(i.ChannelID)
		if err != nil {
			return respond(ephemeral(bot.TroubleReply))
		}
		if !info.Thread || !info.Ours {
			return respond(ephemeral(fmt.Sprintf("Use /%s %s inside your conversation's thread (or /%s start to begin one).", CommandName, word, CommandName)))
		}
		inThread = true
	}
	private := mode == ModeEphemeral || mode == ModeDM
	deferred := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
	if private {
		deferred.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	if err := respond(deferred); err != nil {
		return fmt.Errorf("defer: %w", err)
	}
	if !a.claimInteraction(ctx, h, i.ID) {
		return nil
	}
	var addr bot.Address
	switch mode {
	case "":
		addr = bot.Address{Platform: Platform, Channel: i.ChannelID, User: u.ID}
	case ModeDM:
		dm, err := a.dmChannel(u.ID)
		if err != nil {
			return a.troubleOriginal(i, err)
		}
		addr = bot.Address{Platform: Platform, Channel: dm, User: u.ID}
	default:
		var err error
		if addr, err = a.guildAddress(i, i.GuildID, i.ChannelID, u.ID); err != nil {
			return a.troubleOriginal(i, err)
		}
	}
	note := func(text string) error {
		if private {
			_, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()})
			return err
		}
		if err := a.deleteOriginal(i); err != nil {
			return err
		}
		return a.followupNote(i, text)
	}
	if inThread {
		info, _ := a.channelInfoFor(i, i.ChannelID)
		if owner, err := a.threadOwner(i.ChannelID, info); err != nil || owner != u.ID {
			return note(fmt.Sprintf("This thread is someone else's conversation. Use /%s start to begin your own.", CommandName))
		}
	}
	if r, ok := h.(Resumer); ok {
		if cur, err := r.Current(ctx, addr); err == nil && len(cur.Replies) == 0 && !cur.Listening {
			return note(fmt.Sprintf("You have no conversation in progress here. Use /%s start to begin one.", CommandName))
		}
	}
	m := bot.Message{Address: addr, ID: i.ID, Text: word}
	said := false
	if mode == ModeDM {
		if err := a.turn(ctx, h, m, false, watch(a.toChannel(addr.Channel, ""), &said)); err != nil {
			return a.troubleOriginal(i, err)
		}
		text := "I've answered in our direct messages."
		if !said {
			text = quietNote // in DMs, where typed messages are read
		}
		_, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()})
		return err
	}
	if err := a.turn(ctx, h, m, false, watch(a.originalThenFollowups(i, private), &said)); err != nil || said {
		return err
	}
	return a.quietOriginal(i, private)
}

// interactionClaimTTL is how long an interaction id stays claimed in the
// shared store: longer than an interaction token lives (15 minutes) would
// be needless; longer than the 5 minutes a signed HTTP interaction is
// accepted, and any redelivery to another replica, is what counts.
const interactionClaimTTL = 10 * time.Minute

// claimInteraction claims interaction id through h when h is a
// bot.Claimer (*bot.Engine is) and reports whether this delivery is the
// first. Without an id or a Claimer, or when the claim fails, it goes
// ahead: a rare duplicate rather than a lost interaction.
func (a *Adapter) claimInteraction(ctx context.Context, h bot.Handler, id string) bool {
	c, ok := h.(bot.Claimer)
	if id == "" || !ok {
		return true
	}
	first, err := c.Claim(ctx, "discord:interaction:"+id, interactionClaimTTL)
	if err != nil {
		a.log.Warn("could not claim the interaction; handling it anyway", "id", id, "err", bot.RedactURL(err))
		return true
	}
	if !first {
		a.log.Debug("duplicate interaction ignored", "id", id)
	}
	return first
}

// quietNote answers /troubleshoot when the handler had nothing to say:
// the engine stays quiet while staff have a conversation.
const quietNote = "I've nothing to add right now: if our support team has your conversation, they'll reply to you. Say **restart** to start over with me."

// watch wraps send to record whether anything was sent.
func watch(send sink, said *bool) sink {
	return func(m outMsg, first bool) (sent, error) {
		*said = true
		return send(m, first)
	}
}

// quietOriginal replaces a deferred command response when the turn said
// nothing: a private one becomes the quiet note; a public one is deleted
// (nothing empty stays in the conversation) and the note goes privately
// to the person who used the command.
func (a *Adapter) quietOriginal(i *discordgo.Interaction, private bool) error {
	quietNote := a.word(bot.Address{Workspace: i.GuildID}, quietNote)
	if private {
		note := quietNote
		_, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &note, AllowedMentions: noMentions()})
		return err
	}
	if err := a.deleteOriginal(i); err != nil {
		return fmt.Errorf("delete the empty response: %w", err)
	}
	return a.followupNote(i, quietNote)
}
