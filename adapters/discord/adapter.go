package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// CommandName is the slash command that starts a conversation.
const CommandName = "troubleshoot"

// Timeouts of the adapter's own work.
const (
	// turnTimeout bounds one interaction or message from receipt to the
	// last reply sent; interaction tokens last 15 minutes.
	turnTimeout = 2 * time.Minute
	// shutdownGrace is how long Run waits for turns in flight on shutdown.
	shutdownGrace = 10 * time.Second
	// threadArchiveMinutes is the auto-archive duration of the bot's
	// threads (one day of inactivity).
	threadArchiveMinutes = 1440
	// maxRemembered bounds the in-memory caches; they are dropped whole
	// when full (they are only optimisations).
	maxRemembered = 50000
)

// Resumer is implemented by handlers that can show the question a
// conversation is waiting on without changing it (*bot.Engine does). The
// adapter uses it to answer clicks on already-answered or expired questions
// privately, and to resume a conversation in progress on /troubleshoot.
type Resumer interface {
	Current(ctx context.Context, a bot.Address) (bot.Result, error)
}

// Run registers the /troubleshoot command (bulk overwrite, globally or on
// Config.GuildIDs), connects to the gateway and delivers every interaction,
// DM and mention to h until ctx is done. It then waits briefly for turns in
// flight, disconnects and returns nil. It returns an error when it cannot
// start: command registration or the gateway connection failed (a bad
// token, say). Run must not be called again while running.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	s := a.session
	a.work.reopen()
	a.mu.Lock()
	a.base = context.WithoutCancel(ctx)
	a.mu.Unlock()
	if err := a.registerCommands(); err != nil {
		return err
	}
	removers := []func(){
		s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
			if r.User != nil {
				a.mu.Lock()
				a.botID = r.User.ID
				a.mu.Unlock()
			}
			a.log.Info("connected to the Discord gateway", "shard", a.cfg.ShardID, "shards", a.cfg.ShardCount)
		}),
		s.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
			if !a.work.start() {
				return
			}
			defer a.work.done()
			i := ic.Interaction
			a.handleInteraction(h, i, func(r *discordgo.InteractionResponse) error {
				return s.InteractionRespond(i, r)
			})
		}),
		s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
			if !a.work.start() {
				return
			}
			defer a.work.done()
			a.handleMessage(h, m.Message)
		}),
	}
	defer func() {
		for _, r := range removers {
			r()
		}
	}()
	if err := s.Open(); err != nil {
		return fmt.Errorf("discord: connect to the gateway: %w", err)
	}
	// Open has processed READY into the state; the READY handler may not
	// have run yet.
	s.State.RLock()
	if s.State.User != nil {
		a.mu.Lock()
		a.botID = s.State.User.ID
		a.mu.Unlock()
	}
	s.State.RUnlock()
	<-ctx.Done()
	if !a.work.shutdown(shutdownGrace) {
		a.log.Warn("shutting down with turns still in flight")
	}
	if err := s.Close(); err != nil {
		a.log.Warn("closing the gateway connection", "err", bot.RedactURL(err))
	}
	return nil
}

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

// command is the /troubleshoot definition.
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
	dm := true
	return &discordgo.ApplicationCommand{
		Name:         CommandName,
		Type:         discordgo.ChatApplicationCommand,
		Description:  "Get step-by-step help with a problem",
		DMPermission: &dm,
		Options:      opts,
	}
}

// baseContext is the context turns run under: Run's context without its
// cancellation (turns in flight finish on shutdown), or Background.
func (a *Adapter) baseContext() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.base == nil {
		return context.Background()
	}
	return a.base
}

// responder sends an interaction's initial response; it is called exactly
// once per interaction, before any followup.
type responder func(*discordgo.InteractionResponse) error

// interactionUser is the person who used an interaction.
func interactionUser(i *discordgo.Interaction) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// handleInteraction answers one interaction: it always sends the initial
// response first (within Discord's 3 seconds, with no store access before
// it), then runs the turn and sends the replies as followups.
func (a *Adapter) handleInteraction(h bot.Handler, i *discordgo.Interaction, respond responder) {
	defer a.recoverPanic("interaction", i.ID)
	ctx, cancel := context.WithTimeout(a.baseContext(), turnTimeout)
	defer cancel()
	u := interactionUser(i)
	if u == nil {
		a.log.Warn("interaction without a user", "id", i.ID, "type", i.Type)
		_ = respond(ephemeral("Sorry, I couldn't tell who you are."))
		return
	}
	var err error
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		err = a.onCommand(ctx, h, i, u, respond)
	case discordgo.InteractionMessageComponent:
		err = a.onComponent(ctx, h, i, u, respond)
	case discordgo.InteractionModalSubmit:
		err = a.onModal(ctx, h, i, u, respond)
	default:
		err = respond(ephemeral("Sorry, I don't handle that kind of interaction."))
	}
	if err != nil {
		a.log.Error("interaction failed", "id", i.ID, "type", i.Type.String(), "err", bot.RedactURL(err))
	}
}

// recoverPanic keeps one bad event (a bug in a handler or a guide) from
// taking the whole bot down: the panic is logged with its stack.
func (a *Adapter) recoverPanic(what, id string) {
	if r := recover(); r != nil {
		a.log.Error("panic while handling a Discord event", "event", what, "id", id, "panic", r, "stack", string(debug.Stack()))
	}
}

// ephemeral is an immediate reply only the user sees.
func ephemeral(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content:         trimContent(text, maxContent),
			Flags:           discordgo.MessageFlagsEphemeral,
			AllowedMentions: noMentions(),
		},
	}
}

// onCommand starts a conversation from /troubleshoot.
func (a *Adapter) onCommand(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, respond responder) error {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok || data.Name != CommandName {
		return respond(ephemeral("I don't know that command. Try /" + CommandName + "."))
	}
	m := bot.Message{ID: i.ID}
	for _, o := range data.Options {
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
		addr, err := a.guildAddress(i.GuildID, i.ChannelID, u.ID)
		if err != nil {
			return a.troubleOriginal(i, err)
		}
		return inPlace(addr, true)
	case ModeDM:
		dm, err := a.session.UserChannelCreate(u.ID)
		said := false
		if err == nil {
			m.Address = bot.Address{Platform: Platform, Channel: dm.ID, User: u.ID}
			err = a.turn(ctx, h, m, true, watch(a.toChannel(dm.ID, ""), &said))
		}
		note := "I've sent you a direct message — let's continue there."
		if err == nil && !said {
			note = quietNote
		}
		if err != nil {
			a.log.Warn("could not start a DM conversation", "user", bot.LogKey(u.ID), "err", bot.RedactURL(err))
			note = "I couldn't send you a direct message. Please allow direct messages from server members (Privacy Settings of this server) and try again."
		}
		_, eerr := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &note, AllowedMentions: noMentions()})
		return eerr
	}
	// Thread mode.
	if info, err := a.channelInfo(i.ChannelID); err == nil && info.Thread {
		// Already in a thread: converse here.
		addr, _ := a.guildAddress(i.GuildID, i.ChannelID, u.ID)
		return inPlace(addr, false)
	}
	intro := fmt.Sprintf("**Troubleshooting** for <@%s> continues in the thread below.", u.ID)
	orig, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &intro, AllowedMentions: noMentions()})
	var th *discordgo.Channel
	if err == nil {
		th, err = a.session.MessageThreadStart(i.ChannelID, orig.ID, threadName(u), threadArchiveMinutes)
	}
	if err != nil {
		a.log.Warn("could not open a thread; answering in the channel", "channel", i.ChannelID, "err", bot.RedactURL(err))
		addr, err := a.guildAddress(i.GuildID, i.ChannelID, u.ID)
		if err != nil {
			return a.troubleOriginal(i, err)
		}
		return inPlace(addr, false)
	}
	a.remember(th.ID, channelInfo{Thread: true, Parent: i.ChannelID, Ours: true, Owner: u.ID})
	m.Address = bot.Address{Platform: Platform, Workspace: i.GuildID, Channel: i.ChannelID, Thread: th.ID, User: u.ID}
	return a.turn(ctx, h, m, false, a.toChannel(th.ID, u.ID))
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
	if private {
		note := quietNote
		_, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &note, AllowedMentions: noMentions()})
		return err
	}
	if err := a.session.InteractionResponseDelete(i); err != nil {
		return fmt.Errorf("delete the empty response: %w", err)
	}
	return a.followupNote(i, quietNote)
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

// onComponent handles a button click or a select menu pick.
func (a *Adapter) onComponent(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, respond responder) error {
	data, ok := i.Data.(discordgo.MessageComponentInteractionData)
	cid, err := parseCustomID(data.CustomID)
	if !ok || err != nil {
		a.log.Debug("unknown custom id", "custom_id", data.CustomID, "err", bot.RedactURL(err))
		return respond(ephemeral("This question has expired. Use /" + CommandName + " to start again."))
	}
	if cid.Kind == kindModal {
		return respond(ephemeral("This question has expired. Use /" + CommandName + " to start again."))
	}
	if cid.Kind == kindClose {
		// Staff, not the conversation's owner, click this one.
		return a.onClose(ctx, h, i, u, cid, respond)
	}
	if u.ID != cid.Owner {
		return respond(ephemeral(fmt.Sprintf("Only <@%s> can answer this one — it's their conversation. Use /%s to start your own.", cid.Owner, CommandName)))
	}
	if cid.Kind == kindType {
		modal, err := modalFor(cid.Choice, cid.Owner, cid.Step)
		if err != nil {
			return respond(ephemeral("Sorry, I can't open a form for this question; please type your answer instead."))
		}
		return respond(modal)
	}
	choice, picked := cid.Choice, ""
	if cid.Kind == kindSelect {
		if len(data.Values) != 1 {
			return respond(ephemeral("Please pick one answer."))
		}
		choice = data.Values[0]
		if i.Message != nil {
			picked = optionLabel(i.Message.Components, data.CustomID, choice)
		}
		if picked == "" {
			picked = choice
		}
	}
	var orig []discordgo.MessageComponent
	content := ""
	if i.Message != nil {
		orig, content = i.Message.Components, i.Message.Content
	}
	// Acknowledge by disabling the question's controls: one call, no store
	// access, well inside the 3 seconds.
	if err := respond(&discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{
			Content:         content,
			Components:      answeredComponents(orig, data.CustomID, picked),
			AllowedMentions: noMentions(),
		},
	}); err != nil {
		return fmt.Errorf("acknowledge click: %w", err)
	}
	addr, err := a.interactionAddress(i, cid.Owner)
	if err != nil {
		return a.troubleRestore(i, orig, content, err)
	}
	eph := a.isEphemeral(i)
	return a.answer(ctx, h, i, addr, bot.Message{Address: addr, ID: i.ID, Choice: choice, Step: stepOf(cid.Step), GuideVersion: versionOf(cid.Step)}, eph, orig, content)
}

// onModal handles the submit of a typed-answer modal.
func (a *Adapter) onModal(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, respond responder) error {
	data, ok := i.Data.(discordgo.ModalSubmitInteractionData)
	cid, err := parseCustomID(data.CustomID)
	if !ok || err != nil || cid.Kind != kindModal {
		return respond(ephemeral("This question has expired. Use /" + CommandName + " to start again."))
	}
	if u.ID != cid.Owner {
		return respond(ephemeral(fmt.Sprintf("Only <@%s> can answer this one. Use /%s to start your own.", cid.Owner, CommandName)))
	}
	value, ok := modalValue(data.Components)
	if !ok || strings.TrimSpace(value) == "" {
		return respond(ephemeral("I didn't get an answer in that form; please try again."))
	}
	var orig []discordgo.MessageComponent
	content := ""
	if i.Message != nil {
		orig, content = i.Message.Components, i.Message.Content
		typeID, _ := customID{Kind: kindType, Owner: cid.Owner, Step: cid.Step, Choice: cid.Choice}.encode()
		shown := trimText(strings.Join(strings.Fields(cleanText(value)), " "), 300)
		err = respond(&discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{
				Content:         trimContent(content+"\n\n**Your answer:** "+escapeMarkdown(shown), maxContent),
				Components:      answeredComponents(orig, typeID, ""),
				AllowedMentions: noMentions(),
			},
		})
	} else {
		err = respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
	}
	if err != nil {
		return fmt.Errorf("acknowledge modal: %w", err)
	}
	addr, err := a.interactionAddress(i, cid.Owner)
	if err != nil {
		return a.troubleRestore(i, orig, content, err)
	}
	m := bot.Message{Address: addr, ID: i.ID, Text: value, Step: stepOf(cid.Step), GuideVersion: versionOf(cid.Step)}
	return a.answer(ctx, h, i, addr, m, a.isEphemeral(i), orig, content)
}

// modalValue is the value of the first text input of a modal submit.
func modalValue(comps []discordgo.MessageComponent) (string, bool) {
	for _, c := range comps {
		row, ok := asRow(c)
		if !ok {
			continue
		}
		for _, ic := range row.Components {
			switch t := ic.(type) {
			case *discordgo.TextInput:
				return t.Value, true
			case discordgo.TextInput:
				return t.Value, true
			}
		}
	}
	return "", false
}

// isEphemeral reports whether the interaction came from an ephemeral
// message; its followups are then ephemeral too.
func (a *Adapter) isEphemeral(i *discordgo.Interaction) bool {
	if i.Message != nil {
		return i.Message.Flags&discordgo.MessageFlagsEphemeral != 0
	}
	return a.cfg.Mode == ModeEphemeral && i.GuildID != ""
}

// answer applies a click or typed answer after the initial response: a
// question that is no longer current gets a private explanation and the
// current question; an ended or expired conversation a private note;
// anything else is a turn whose replies are followups. When the turn fails
// the question's controls are restored so the person can try again.
func (a *Adapter) answer(ctx context.Context, h bot.Handler, i *discordgo.Interaction, addr bot.Address, m bot.Message, eph bool, orig []discordgo.MessageComponent, content string) error {
	unlock := a.locks.lock(addr.Key())
	defer unlock()
	state, cur := a.current(ctx, h, addr, m.Step)
	if state == stateUnknown && cur.Listening && cur.Outcome == bot.OutcomeEscalated {
		// Staff have this conversation and the engine would stay quiet;
		// a click deserves a word, privately.
		return a.followupNote(i, quietNote)
	}
	switch state {
	case stateEnded:
		return a.followupNote(i, "This conversation has ended, or expired after a long pause. Use /"+CommandName+" to start a new one.")
	case stateStale:
		if len(cur.Replies) > 0 {
			replies := append([]bot.Reply{{Text: "That question was already answered. Here's where we are now:"}}, cur.Replies...)
			return a.sendAll(renderTurn(replies, addr.User, stepRef(cur.Step, cur.GuideVersion)), a.followups(i, true))
		}
		if m.Choice == "" {
			return a.followupNote(i, "That question was already answered; please answer the latest question above.")
		}
		eph = true // the engine explains stale clicks itself; keep it private
	}
	clicked := ""
	if i.Message != nil {
		clicked = i.Message.ID
	}
	err := a.turnLocked(ctx, h, m, a.followups(i, eph), clicked)
	if err != nil {
		a.restore(i, orig, content)
	}
	if errors.Is(err, errNotApplied) {
		return nil
	}
	return err
}

// restore gives an answered question its controls back, after a failure
// meant the answer was not applied.
func (a *Adapter) restore(i *discordgo.Interaction, orig []discordgo.MessageComponent, content string) {
	if orig == nil {
		return
	}
	c := content
	if _, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &c, Components: &orig, AllowedMentions: noMentions()}); err != nil {
		a.log.Warn("could not restore the question's buttons", "err", bot.RedactURL(err))
	}
}

// troubleRestore tells the person privately that their answer could not
// be taken, and restores the question's controls.
func (a *Adapter) troubleRestore(i *discordgo.Interaction, orig []discordgo.MessageComponent, content string, cause error) error {
	a.restore(i, orig, content)
	if err := a.followupNote(i, bot.TroubleReply); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// troubleOriginal replaces a deferred response with the trouble reply.
func (a *Adapter) troubleOriginal(i *discordgo.Interaction, cause error) error {
	text := bot.TroubleReply
	if _, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()}); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// followupNote sends one private note as a followup.
func (a *Adapter) followupNote(i *discordgo.Interaction, text string) error {
	return a.sendAll([]outMsg{{Content: text}}, a.followups(i, true))
}

// Conversation states as seen before applying a click.
const (
	stateUnknown = iota // cannot tell; let the engine decide
	stateLive           // the question clicked is the current one
	stateStale          // another question is current
	stateEnded          // no conversation in progress
)

// current tells whether step is the question the conversation at addr is
// on, asking h when it is a Resumer and falling back to what this process
// last saw.
func (a *Adapter) current(ctx context.Context, h bot.Handler, addr bot.Address, step string) (int, bot.Result) {
	if r, ok := h.(Resumer); ok {
		res, err := r.Current(ctx, addr)
		switch {
		case err != nil:
			a.log.Warn("could not look up the current question", "err", bot.RedactURL(err))
			return stateUnknown, bot.Result{}
		case res.Listening:
			// Handed to staff or closed for inactivity: the engine
			// decides (quiet, or the offer to resume).
			return stateUnknown, res
		case len(res.Replies) == 0:
			return stateEnded, res
		case step != "" && res.Step != step:
			return stateStale, res
		default:
			return stateLive, res
		}
	}
	a.mu.Lock()
	last, ok := a.lastStep[addr.Key()]
	a.mu.Unlock()
	switch {
	case !ok:
		return stateUnknown, bot.Result{}
	case last == "":
		return stateEnded, bot.Result{}
	case step != "" && last != step:
		return stateStale, bot.Result{}
	default:
		return stateLive, bot.Result{}
	}
}

// sink sends one rendered message; first is true for a turn's first one.
// It returns the sent message's id and a way to edit its components later.
type sink func(m outMsg, first bool) (sent, error)

// sent is a message the bot sent.
type sent struct {
	id   string
	edit editFunc
}

// editFunc replaces a sent message's components.
type editFunc func(comps []discordgo.MessageComponent) error

// question is the last question with controls a conversation was sent.
type question struct {
	msgID string
	comps []discordgo.MessageComponent
	edit  editFunc
}

// turn runs one message through h and sends its replies, holding the
// conversation's lock so replies of consecutive turns never interleave.
// resume, for a conversation start, shows a conversation already in
// progress instead of feeding it the opening words.
func (a *Adapter) turn(ctx context.Context, h bot.Handler, m bot.Message, resume bool, send sink) error {
	unlock := a.locks.lock(m.Address.Key())
	defer unlock()
	if r, ok := h.(Resumer); ok && resume {
		res, err := r.Current(ctx, m.Address)
		if err == nil && len(res.Replies) > 0 {
			replies := append([]bot.Reply{{Text: "You have a conversation in progress; here's where we were. (Say **restart** to start over.)"}}, res.Replies...)
			a.setLastStep(m.Address, res.Step, false)
			return a.sendTracked(m.Address.Key(), renderTurn(replies, m.Address.User, stepRef(res.Step, res.GuideVersion)), send)
		}
	}
	if err := a.turnLocked(ctx, h, m, send, ""); !errors.Is(err, errNotApplied) {
		return err
	}
	return nil
}

// turnLocked is turn with the conversation's lock held. clicked is the id
// of the message whose control was used ("" for typed messages): the
// previous question, if it was another message, gets its controls
// disabled once the turn is applied.
func (a *Adapter) turnLocked(ctx context.Context, h bot.Handler, m bot.Message, send sink, clicked string) error {
	m.Address.Platform = Platform
	res, err := h.Handle(ctx, m)
	if err != nil {
		a.log.Error("could not handle message", "conversation", bot.LogKey(m.Address.Key()), "err", bot.RedactURL(err))
		if serr := a.sendAll([]outMsg{{Content: bot.TroubleReply}}, send); serr != nil {
			a.log.Warn("could not say so", "err", bot.RedactURL(serr))
		}
		return err
	}
	if res.Duplicate {
		return nil
	}
	if res.Step == "" && !res.Done {
		// Nothing was applied (the flood throttle held the message back):
		// say what the handler said, keep the question live.
		if len(res.Replies) > 0 {
			if err := a.sendAll(renderTurn(res.Replies, m.Address.User, ""), send); err != nil {
				return err
			}
		}
		return errNotApplied
	}
	a.setLastStep(m.Address, res.Step, res.Done)
	a.retireQuestion(m.Address.Key(), clicked)
	return a.sendTracked(m.Address.Key(), renderTurn(res.Replies, m.Address.User, stepRef(res.Step, res.GuideVersion)), send)
}

// errNotApplied reports a turn the handler did not apply; the caller gives
// the question its controls back.
var errNotApplied = errors.New("the message was not applied")

// retireQuestion disables the controls of the conversation's last question
// unless it is the clicked message (already disabled by the click's
// response). Failures (an interaction token older than 15 minutes, a
// deleted message) only leave live buttons, which stale-click handling
// covers, so they are logged and ignored.
func (a *Adapter) retireQuestion(key, clicked string) {
	a.mu.Lock()
	q, ok := a.questions[key]
	delete(a.questions, key)
	a.mu.Unlock()
	if !ok || q.msgID == clicked || q.edit == nil {
		return
	}
	if err := q.edit(answeredComponents(q.comps, "", "")); err != nil {
		a.log.Debug("could not disable an answered question's controls", "message", q.msgID, "err", bot.RedactURL(err))
	}
}

// sendTracked is sendAll that remembers the last message with controls as
// the conversation's current question.
func (a *Adapter) sendTracked(key string, msgs []outMsg, send sink) error {
	for k, m := range msgs {
		out, err := send(m, k == 0)
		if err != nil {
			return fmt.Errorf("send reply %d of %d: %w", k+1, len(msgs), err)
		}
		if len(m.Components) > 0 && out.edit != nil {
			a.mu.Lock()
			if len(a.questions) >= maxRemembered {
				clear(a.questions)
			}
			a.questions[key] = question{comps: m.Components, edit: out.edit, msgID: out.id}
			a.mu.Unlock()
		}
	}
	return nil
}

func (a *Adapter) setLastStep(addr bot.Address, step string, done bool) {
	if done {
		step = ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.lastStep) >= maxRemembered {
		clear(a.lastStep)
	}
	a.lastStep[addr.Key()] = step
}

// sendAll sends msgs in order, stopping at the first error.
func (a *Adapter) sendAll(msgs []outMsg, send sink) error {
	for k, m := range msgs {
		if _, err := send(m, k == 0); err != nil {
			return fmt.Errorf("send reply %d of %d: %w", k+1, len(msgs), err)
		}
	}
	return nil
}

// followups sends each message as an interaction followup.
func (a *Adapter) followups(i *discordgo.Interaction, eph bool) sink {
	return func(m outMsg, _ bool) (sent, error) {
		p := &discordgo.WebhookParams{Content: m.Content, Components: m.Components, AllowedMentions: noMentions()}
		if eph {
			p.Flags = discordgo.MessageFlagsEphemeral
		}
		msg, err := a.session.FollowupMessageCreate(i, true, p)
		if err != nil {
			return sent{}, err
		}
		return sent{msg.ID, func(comps []discordgo.MessageComponent) error {
			_, err := a.session.FollowupMessageEdit(i, msg.ID, &discordgo.WebhookEdit{Components: &comps, AllowedMentions: noMentions()})
			return err
		}}, nil
	}
}

// originalThenFollowups edits the deferred response with the first message
// and sends the rest as followups.
func (a *Adapter) originalThenFollowups(i *discordgo.Interaction, eph bool) sink {
	rest := a.followups(i, eph)
	return func(m outMsg, first bool) (sent, error) {
		if !first {
			return rest(m, first)
		}
		c, comps := m.Content, m.Components
		if comps == nil {
			comps = []discordgo.MessageComponent{}
		}
		msg, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &c, Components: &comps, AllowedMentions: noMentions()})
		if err != nil {
			return sent{}, err
		}
		return sent{msg.ID, func(comps []discordgo.MessageComponent) error {
			_, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Components: &comps, AllowedMentions: noMentions()})
			return err
		}}, nil
	}
}

// toChannel posts each message in a channel. mention, when set, is a user
// mentioned (and so added to the thread and notified) in the first
// message; nothing else in the message can ping.
func (a *Adapter) toChannel(channelID, mention string, opts ...discordgo.RequestOption) sink {
	return func(m outMsg, first bool) (sent, error) {
		ms := &discordgo.MessageSend{Content: m.Content, Components: m.Components, AllowedMentions: noMentions()}
		if first && mention != "" {
			ms.Content = trimContent(fmt.Sprintf("<@%s> %s", mention, m.Content), maxContent)
			ms.AllowedMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: []string{mention}}
		}
		msg, err := a.session.ChannelMessageSendComplex(channelID, ms, opts...)
		if err != nil {
			return sent{}, err
		}
		return sent{msg.ID, func(comps []discordgo.MessageComponent) error {
			_, err := a.session.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: msg.ID, Channel: channelID, Components: &comps, AllowedMentions: noMentions()})
			return err
		}}, nil
	}
}

// guildAddress is the conversation address of user in a guild channel,
// which may be a thread. It fails when the channel cannot be looked up:
// guessing would file the answer under the wrong conversation.
func (a *Adapter) guildAddress(guild, channel, user string) (bot.Address, error) {
	info, err := a.channelInfo(channel)
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
	return a.guildAddress(i.GuildID, i.ChannelID, owner)
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
	a.mu.Lock()
	info, ok := a.channels[id]
	botID := a.botID
	a.mu.Unlock()
	if ok {
		return info, nil
	}
	ch, err := a.session.State.Channel(id)
	if err != nil || ch == nil {
		ch, err = a.session.Channel(id)
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
		if err == nil {
			m.Address = bot.Address{Platform: Platform, Channel: dm.ID, User: author}
			err = a.turn(ctx, h, m, true, a.toChannel(dm.ID, ""))
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
	m.Address = bot.Address{Platform: Platform, Workspace: msg.GuildID, Channel: msg.ChannelID, User: author}
	return a.turn(ctx, h, m, true, a.toChannel(msg.ChannelID, ""))
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
	msg, err := a.session.ChannelMessage(info.Parent, id)
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
