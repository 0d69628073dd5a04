package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	if r := a.heldFor(i.ID); r != nil {
		// Canceled when its save does not come in time (InteractionsHandler).
		r.setCancel(cancel)
	}
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
		return respond(ephemeral("This question has expired. Use /" + CommandName + " start to begin again."))
	}
	if cid.Kind == kindModal {
		return respond(ephemeral("This question has expired. Use /" + CommandName + " start to begin again."))
	}
	if cid.Kind == kindClose {
		// Staff, not the conversation's owner, click this one.
		return a.onClose(ctx, h, i, u, cid, respond)
	}
	if u.ID != cid.Owner {
		return respond(ephemeral(fmt.Sprintf("Only <@%s> can answer this one — it's their conversation. Use /%s start to begin your own.", cid.Owner, CommandName)))
	}
	if cid.Kind == kindType {
		fm, ok := a.formOf(cid.Owner, cid.Step, cid.Choice)
		if !ok {
			fm = a.lookupForm(ctx, h, i, cid)
		}
		modal, err := modalFor(cid.Choice, cid.Owner, cid.Step, fm)
		if err != nil {
			return respond(ephemeral("Sorry, I can't open a form for this question; please answer with its buttons, or mention me with your answer."))
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
	mark, err := a.acknowledge(i, respond, cid, orig, content, data.CustomID, picked)
	if err != nil {
		return fmt.Errorf("acknowledge click: %w", err)
	}
	addr, err := a.interactionAddress(i, cid.Owner)
	if err != nil {
		return a.troubleRestore(i, orig, content, err)
	}
	eph := a.isEphemeral(i)
	return a.answer(ctx, h, i, addr, bot.Message{Address: addr, ID: i.ID, Choice: choice, Step: stepOf(cid.Step), GuideVersion: versionOf(cid.Step)}, eph, orig, content, mark)
}

// acknowledge sends a click's or a form's initial response, within
// Discord's 3 seconds and without a store lookup. When the message is the
// question this process last sent the conversation, the response itself
// shows it answered (controls disabled, the one used highlighted): one
// call, counted against the interaction's own token, not the channel's
// rate limit. Otherwise the click may be stale, so the message is left as
// it is (a deferred update) until the engine says; the returned mark then
// shows it answered, once the answer is known to apply.
func (a *Adapter) acknowledge(i *discordgo.Interaction, respond responder, cid customID, orig []discordgo.MessageComponent, content, usedID, picked string) (mark func(), err error) {
	if i.Message != nil && (a.isLiveQuestion(i.Message.ID) || a.onStep(i, cid)) {
		err = respond(&discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{
				Content:         content,
				Components:      answeredComponents(orig, usedID, picked),
				AllowedMentions: noMentions(),
			},
		})
		return func() {}, err
	}
	err = respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
	return func() {
		if orig == nil {
			return
		}
		// The edit would release a held HTTP response before the turn is
		// saved: it waits for the turn to release it.
		if err := a.acked(i); err != nil {
			return
		}
		c, comps := content, answeredComponents(orig, usedID, picked)
		if _, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &c, Components: &comps, AllowedMentions: noMentions()}); err != nil {
			a.log.Warn("could not show the question answered", "err", bot.RedactURL(err))
		}
	}, err
}

// onStep reports whether this process last saw the conversation of a
// click on the clicked question's step, from memory only (no REST, no
// store): the step is recorded before its question is sent.
func (a *Adapter) onStep(i *discordgo.Interaction, cid customID) bool {
	if cid.Step == "" {
		return false
	}
	addr := bot.Address{Platform: Platform, Channel: i.ChannelID, User: cid.Owner}
	a.mu.Lock()
	defer a.mu.Unlock()
	if i.GuildID != "" {
		info, ok := a.channels[i.ChannelID]
		if !ok {
			return false
		}
		addr.Workspace = i.GuildID
		if info.Thread {
			addr.Channel, addr.Thread = info.Parent, i.ChannelID
		}
	}
	last, ok := a.lastStep[addr.Key()]
	return ok && last != "" && last == stepOf(cid.Step)
}

// lookupForm asks the engine for the current question's form labels when
// this process does not remember them (after a restart), within a second
// so the modal still opens in time; zero labels when it cannot tell.
func (a *Adapter) lookupForm(ctx context.Context, h bot.Handler, i *discordgo.Interaction, cid customID) form {
	r, ok := h.(Resumer)
	if !ok {
		return form{}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	addr, err := a.interactionAddress(i, cid.Owner)
	if err != nil {
		return form{}
	}
	res, err := r.Current(ctx, addr)
	if err != nil || stepRef(res.Step, res.GuideVersion) != cid.Step {
		return form{}
	}
	for _, rep := range res.Replies {
		if rep.Input == cid.Choice {
			return form{title: rep.Title, example: rep.Example}
		}
	}
	return form{}
}

// onModal handles the submit of a typed-answer modal.
func (a *Adapter) onModal(ctx context.Context, h bot.Handler, i *discordgo.Interaction, u *discordgo.User, respond responder) error {
	data, ok := i.Data.(discordgo.ModalSubmitInteractionData)
	cid, err := parseCustomID(data.CustomID)
	if !ok || err != nil || cid.Kind != kindModal {
		return respond(ephemeral("This question has expired. Use /" + CommandName + " start to begin again."))
	}
	if u.ID != cid.Owner {
		return respond(ephemeral(fmt.Sprintf("Only <@%s> can answer this one. Use /%s start to begin your own.", cid.Owner, CommandName)))
	}
	value, ok := modalValue(data.Components)
	if !ok || strings.TrimSpace(value) == "" {
		return respond(ephemeral("I didn't get an answer in that form; please try again."))
	}
	var orig []discordgo.MessageComponent
	content := ""
	mark := func() {}
	if i.Message != nil {
		// The question shows its "Type …" button as the one used; the
		// answer itself is said once, by the engine's reply ("Got it: …"),
		// in its own words and units.
		orig, content = i.Message.Components, i.Message.Content
		typeID, _ := customID{Kind: kindType, Owner: cid.Owner, Step: cid.Step, Choice: cid.Choice}.encode()
		mark, err = a.acknowledge(i, respond, cid, orig, content, typeID, "")
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
	return a.answer(ctx, h, i, addr, m, a.isEphemeral(i), orig, content, mark)
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
// question that is no longer current gets a private note pointing at the
// current one (and the old message is left as it shows); an ended or
// expired conversation a private note; anything else is a turn whose
// replies are followups, after mark shows the question answered. When the
// turn fails the question's controls are restored so the person can try
// again.
func (a *Adapter) answer(ctx context.Context, h bot.Handler, i *discordgo.Interaction, addr bot.Address, m bot.Message, eph bool, orig []discordgo.MessageComponent, content string, mark func()) error {
	if !a.claimInteraction(ctx, h, i.ID) {
		return nil // another replica (or an earlier delivery) has it
	}
	unlock := a.locks.lock(addr.Key())
	defer unlock()
	state, cur := a.current(ctx, h, addr, m.Step)
	if state == stateUnknown && cur.Listening && cur.Outcome == bot.OutcomeEscalated {
		// Staff have this conversation and the engine would stay quiet;
		// a click deserves a word, privately.
		return a.followupNote(i, a.word(addr, quietNote))
	}
	switch state {
	case stateEnded:
		return a.followupNote(i, "This conversation has ended, or expired after a long pause. Use /"+CommandName+" start to begin a new one.")
	case stateStale:
		if len(cur.Replies) > 0 {
			return a.staleNote(i, addr, cur)
		}
		if m.Choice == "" {
			return a.followupNote(i, "That question was already answered; please answer the latest question in this conversation.")
		}
		eph = true // the engine explains stale clicks itself; keep it private
	default:
		// Shown answered while the turn runs: the edit may wait on
		// Discord's pacing, the next question need not wait for it.
		marked, show := make(chan struct{}), mark
		go func() {
			defer close(marked)
			show()
		}()
		defer func() { <-marked }()
		mark = func() { <-marked }
	}
	clicked := ""
	if i.Message != nil {
		clicked = i.Message.ID
	}
	err := a.turnLocked(ctx, h, m, a.followups(i, eph), clicked, a.followups(i, true))
	if err != nil {
		mark() // restore after the mark, never before
		a.restore(i, orig, content)
	}
	if errors.Is(err, errNotApplied) {
		return nil
	}
	return err
}

// staleNote answers a click on a question that is no longer current,
// privately and without controls of its own when this process knows where
// the current question is (one live copy of it at any time), with a link
// to it where Discord can link; otherwise (after a restart) with the
// current question, which then becomes the conversation's tracked one.
func (a *Adapter) staleNote(i *discordgo.Interaction, addr bot.Address, cur bot.Result) error {
	a.mu.Lock()
	q, ok := a.questions[addr.Key()]
	a.mu.Unlock()
	if ok && q.msgID != "" {
		text := "That question was already answered. Please answer the latest question in this conversation."
		if link := a.messageLink(addr, q); link != "" {
			text = "That question was already answered. The current question is [here](" + link + ")."
		}
		return a.followupNote(i, text)
	}
	replies := append([]bot.Reply{{Text: "That question was already answered. Here's where we are now:"}}, cur.Replies...)
	return a.sendTracked(addr.Key(), a.render(addr, replies, stepRef(cur.Step, cur.GuideVersion)), a.followups(i, true))
}

// messageLink is a link to a conversation's question, or "" for a private
// (ephemeral) one, which Discord cannot link to.
func (a *Adapter) messageLink(addr bot.Address, q question) string {
	if q.private || q.msgID == "" {
		return ""
	}
	guild, channel := addr.Workspace, addr.Thread
	if guild == "" {
		guild = "@me"
	}
	if channel == "" {
		channel = addr.Channel
	}
	return "https://discord.com/channels/" + guild + "/" + channel + "/" + q.msgID
}

// restore gives an answered question its controls back, after a failure
// meant the answer was not applied.
func (a *Adapter) restore(i *discordgo.Interaction, orig []discordgo.MessageComponent, content string) {
	if orig == nil {
		return
	}
	c := content
	if _, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &c, Components: &orig, AllowedMentions: noMentions()}); err != nil && !errors.Is(err, errAnsweredInPlace) {
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
	if a.answerHeld(i.ID, ephemeral(text)) {
		return cause
	}
	if _, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()}); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// followupNote sends one private note as a followup, or as the initial
// response itself while an HTTP interaction's is still held: there it
// cannot be lost to a crash between the ack and the followup.
func (a *Adapter) followupNote(i *discordgo.Interaction, text string) error {
	if a.answerHeld(i.ID, ephemeral(text)) {
		return nil
	}
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
