package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

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
	if !a.claimInteraction(ctx, h, i.ID) {
		return nil // another replica (or an earlier delivery) has it
	}
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
	if _, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &c, Components: &orig, AllowedMentions: noMentions()}); err != nil {
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
	if _, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()}); err != nil {
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
