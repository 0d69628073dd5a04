package discord

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// sink sends one rendered message; first is true for a turn's first one.
// It returns the sent message's id and a way to edit its components later.
type sink func(m outMsg, first bool) (sent, error)

// sent is a message the bot sent.
type sent struct {
	id   string
	edit editFunc
	// private is true for an ephemeral message.
	private bool
}

// editFunc replaces a sent message's components.
type editFunc func(comps []discordgo.MessageComponent) error

// question is the last question with controls a conversation was sent.
type question struct {
	msgID   string
	comps   []discordgo.MessageComponent
	edit    editFunc
	private bool
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
			// The copy shown here becomes the one live copy of the
			// question: the earlier one's controls are disabled.
			a.retireQuestion(m.Address.Key(), "")()
			return a.sendTracked(m.Address.Key(), a.render(m.Address, replies, stepRef(res.Step, res.GuideVersion)), send)
		}
	}
	if err := a.turnLocked(ctx, h, m, send, "", nil); !errors.Is(err, errNotApplied) {
		return err
	}
	return nil
}

// turnLocked is turn with the conversation's lock held. clicked is the id
// of the message whose control was used ("" for typed messages): the
// previous question, if it was another message, gets its controls
// disabled once the turn is applied. notice, when set, is where a turn the
// handler did not apply (the flood throttle held it back) is explained,
// privately, instead of its replies: clicks and forms, whose controls are
// given back, are worded for clicking again.
func (a *Adapter) turnLocked(ctx context.Context, h bot.Handler, m bot.Message, send sink, clicked string, notice sink) error {
	m.Address.Platform = Platform
	res, err := h.Handle(ctx, m)
	if err != nil {
		a.log.Error("could not handle message", "conversation", bot.LogKey(m.Address.Key()), "err", bot.RedactURL(err))
		// Nothing was saved: an HTTP interaction whose ack is still held
		// gets the trouble reply as its initial response, not an ack
		// whose followup a crash could lose.
		if a.answerHeld(m.ID, ephemeral(bot.TroubleReply)) {
			return err
		}
		if serr := a.sendAll([]outMsg{{Content: bot.TroubleReply}}, send); serr != nil {
			a.log.Warn("could not say so", "err", bot.RedactURL(serr))
		}
		return err
	}
	// The turn is saved with its outbox entry (or was, for a duplicate,
	// or applied nothing): a held HTTP ack may go now.
	a.releaseHeld(m.ID)
	if res.Duplicate && (res.Outbox == "" || len(res.Replies) == 0) {
		// A redelivery; one whose first copy's replies were saved but
		// not yet sent gets them again (Outbox set) and sends them.
		return nil
	}
	if res.Step == "" && !res.Done {
		// Nothing was applied (the flood throttle held the message back):
		// say what the handler said, keep the question live.
		if notice != nil {
			text := "You're answering faster than I can keep up with. Please wait a few seconds, then click your answer again."
			if m.Choice == "" {
				text = "You're answering faster than I can keep up with. Please wait a few seconds, then send the form again."
			}
			if err := a.sendAll([]outMsg{{Content: text}}, notice); err != nil {
				return err
			}
		} else if len(res.Replies) > 0 {
			if err := a.sendAll(a.render(m.Address, res.Replies, ""), send); err != nil {
				return err
			}
		}
		return errNotApplied
	}
	a.setLastStep(m.Address, res.Step, res.Done)
	// Disabling the previous question and sending the next go out in
	// parallel: the edit may wait on Discord's pacing of its route after a
	// burst, and the person waits for the next question, not for it. The
	// turn ends when both are done.
	retire := a.retireQuestion(m.Address.Key(), clicked)
	retired := make(chan struct{})
	go func() {
		defer close(retired)
		retire()
	}()
	defer func() { <-retired }()
	if err := a.sendTracked(m.Address.Key(), a.render(m.Address, res.Replies, stepRef(res.Step, res.GuideVersion)), send); err != nil {
		if res.Outbox != "" {
			a.leftTurns.Add(1) // the sweeper sends them
		}
		return err
	}
	if res.Outbox != "" {
		a.sentTurns.Add(1)
		a.confirm(ctx, h, m.Address, res.Outbox)
	}
	return nil
}

// errNotApplied reports a turn the handler did not apply; the caller gives
// the question its controls back.
var errNotApplied = errors.New("the message was not applied")

// retireQuestion forgets the conversation's last question and returns
// what disables its controls, unless it is the clicked message (already
// disabled by the click's response). Failures (an interaction token older
// than 15 minutes, a deleted message) only leave live buttons, which
// stale-click handling covers, so they are logged and ignored.
func (a *Adapter) retireQuestion(key, clicked string) func() {
	a.mu.Lock()
	q, ok := a.questions[key]
	delete(a.questions, key)
	delete(a.questionIDs, q.msgID)
	a.mu.Unlock()
	if !ok || q.msgID == clicked || q.edit == nil {
		return func() {}
	}
	return func() {
		if err := q.edit(answeredComponents(q.comps, "", "")); err != nil {
			a.log.Debug("could not disable an answered question's controls", "message", q.msgID, "err", bot.RedactURL(err))
		}
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
			if len(a.questions) >= maxRemembered || len(a.questionIDs) >= maxRemembered {
				clear(a.questions)
				clear(a.questionIDs)
			}
			if old, ok := a.questions[key]; ok {
				delete(a.questionIDs, old.msgID)
			}
			a.questions[key] = question{comps: m.Components, edit: out.edit, msgID: out.id, private: out.private}
			if out.id != "" {
				a.questionIDs[out.id] = true
			}
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
		msg, err := a.followup(i, p)
		if err != nil {
			return sent{}, err
		}
		return sent{msg.ID, func(comps []discordgo.MessageComponent) error {
			_, err := a.editResponse(i, msg.ID, &discordgo.WebhookEdit{Components: &comps, AllowedMentions: noMentions()})
			return err
		}, eph}, nil
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
		msg, err := a.editOriginal(i, &discordgo.WebhookEdit{Content: &c, Components: &comps, AllowedMentions: noMentions()})
		if err != nil {
			return sent{}, err
		}
		return sent{msg.ID, func(comps []discordgo.MessageComponent) error {
			_, err := a.editOriginal(i, &discordgo.WebhookEdit{Components: &comps, AllowedMentions: noMentions()})
			return err
		}, eph}, nil
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
		msg, err := a.sendMessage(channelID, ms, opts...)
		if err != nil {
			return sent{}, err
		}
		return sent{msg.ID, func(comps []discordgo.MessageComponent) error {
			_, err := a.editMessage(&discordgo.MessageEdit{ID: msg.ID, Channel: channelID, Components: &comps, AllowedMentions: noMentions()})
			return err
		}, false}, nil
	}
}

// isLiveQuestion reports whether message id is a conversation's current
// question as this process last sent it.
func (a *Adapter) isLiveQuestion(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.questionIDs[id]
}
