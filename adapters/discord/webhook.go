package discord

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// The REST calls that answer an interaction through its webhook token go
// through these helpers rather than discordgo's Session methods, for
// three reasons (the third: rest.go).
//
// discordgo's WebhookMessageEdit (behind InteractionResponseEdit and
// FollowupMessageEdit) files every edit of every interaction under one
// rate-limit bucket, which it holds for the whole request: a process
// edits one interaction response at a time, ~6 a second with Discord's
// latency, and under load turns queue for minutes (found by
// TestDiscordDeliveryUnderSignals: 58 of 400 answered within a 10 s
// grace). Discord limits webhooks per token; so do these.
//
// And an HTTP interaction's initial response is held until the turn it
// causes is saved (see InteractionsHandler): every call here first
// releases it (ready), since Discord refuses followups and edits before
// the initial response.

// editResponse edits message msgID ("@original" for the initial
// response) of interaction i.
func (a *Adapter) editResponse(i *discordgo.Interaction, msgID string, data *discordgo.WebhookEdit) (*discordgo.Message, error) {
	if err := a.ready(i); err != nil {
		return nil, err
	}
	uri := discordgo.EndpointWebhookMessage(i.AppID, i.Token, msgID)
	var m sentID
	if err := a.request("PATCH", uri, uri, data, &m); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: m.ID}, nil
}

// editOriginal edits interaction i's initial response.
func (a *Adapter) editOriginal(i *discordgo.Interaction, data *discordgo.WebhookEdit) (*discordgo.Message, error) {
	return a.editResponse(i, "@original", data)
}

// followup sends a followup message of interaction i.
func (a *Adapter) followup(i *discordgo.Interaction, p *discordgo.WebhookParams) (*discordgo.Message, error) {
	if err := a.ready(i); err != nil {
		return nil, err
	}
	uri := discordgo.EndpointWebhookToken(i.AppID, i.Token) + "?wait=true"
	var m sentID
	if err := a.request("POST", uri, uri, p, &m); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: m.ID}, nil
}

// deleteOriginal deletes interaction i's initial response.
func (a *Adapter) deleteOriginal(i *discordgo.Interaction) error {
	if err := a.ready(i); err != nil {
		return err
	}
	uri := discordgo.EndpointWebhookMessage(i.AppID, i.Token, "@original")
	return a.request("DELETE", uri, uri, nil, nil)
}

// respond sends a gateway interaction's initial response.
func (a *Adapter) respond(i *discordgo.Interaction, r *discordgo.InteractionResponse) error {
	uri := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	return a.request("POST", uri, uri, r, nil)
}

// heldResponses are the HTTP interactions whose initial response is held
// until their turn is saved: interaction id → *heldResponse.
type heldResponses struct {
	m sync.Map
}

// heldResponse is one HTTP interaction's initial response while the
// InteractionsHandler holds it. Discord never redelivers an interaction,
// so the response may promise a reply (a deferred response, a click shown
// answered) only once the turn that makes the reply is saved with its
// outbox entry; until then the response can still become an answer in
// itself (answer): an ephemeral note, the trouble reply, or "try again"
// when the save does not come within Discord's 3 seconds.
type heldResponse struct {
	mu    sync.Mutex
	state int
	// reply replaces the turn's initial response once answered.
	reply *discordgo.InteractionResponse
	// cancel ends the turn's context (setCancel).
	cancel context.CancelFunc
	// release is closed when the state leaves holding.
	release chan struct{}
	// written is closed once the handler wrote the response or gave up;
	// writeErr is then its outcome.
	written  chan struct{}
	writeErr error
}

// The states of a heldResponse.
const (
	holding  = iota // the turn is not saved yet
	released        // the turn is saved (or has nothing to save): the ack may go
	answered        // the response is an answer in itself (reply)
)

// errAnsweredInPlace is ready's error for an interaction whose initial
// response was an answer in itself: there is no ack to edit or follow.
var errAnsweredInPlace = errors.New("the interaction was answered in its initial response")

func newHeldResponse() *heldResponse {
	return &heldResponse{release: make(chan struct{}), written: make(chan struct{})}
}

// open releases the ack. It returns errAnsweredInPlace when the response
// was already replaced by an answer.
func (r *heldResponse) open() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case holding:
		r.state = released
		close(r.release)
	case answered:
		return errAnsweredInPlace
	}
	return nil
}

// answer makes resp the initial response, in place of the turn's ack,
// unless the ack was already released. It reports whether it did.
func (r *heldResponse) answer(resp *discordgo.InteractionResponse) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != holding {
		return false
	}
	r.state, r.reply = answered, resp
	close(r.release)
	return true
}

// setCancel records the turn's cancel; a response already answered in
// place cancels the turn at once.
func (r *heldResponse) setCancel(cancel context.CancelFunc) {
	r.mu.Lock()
	r.cancel = cancel
	done := r.state == answered
	r.mu.Unlock()
	if done {
		cancel()
	}
}

// cancelTurn ends the turn's context, if the turn started.
func (r *heldResponse) cancelTurn() {
	r.mu.Lock()
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// response is what to write: the answer given in place, else ack.
func (r *heldResponse) response(ack *discordgo.InteractionResponse) *discordgo.InteractionResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == answered {
		return r.reply
	}
	return ack
}

// heldFor is interaction id's held response, or nil (a gateway
// interaction, a gateway message, or one whose response was written).
func (a *Adapter) heldFor(id string) *heldResponse {
	if id == "" {
		return nil
	}
	if r, ok := a.held.m.Load(id); ok {
		return r.(*heldResponse)
	}
	return nil
}

// ready releases interaction i's held initial response, if any, and
// waits until it was written: nil once Discord has it (or for gateway
// interactions, which hold nothing); errAnsweredInPlace when the initial
// response was an answer in itself.
func (a *Adapter) ready(i *discordgo.Interaction) error {
	if i == nil {
		return nil
	}
	r := a.heldFor(i.ID)
	if r == nil {
		return nil
	}
	if err := r.open(); err != nil {
		return err
	}
	return r.wait()
}

// wait waits until the response was written, within Discord's deadline.
func (r *heldResponse) wait() error {
	select {
	case <-r.written:
		return r.writeErr
	case <-time.After(initialResponseWait):
		return errors.New("initial response not written in time")
	}
}

// acked waits, without releasing it, until interaction i's held ack was
// released by its turn and written: for edits that show a click answered,
// which must not promise anything before the turn is saved. It returns
// errAnsweredInPlace when the response became an answer instead.
func (a *Adapter) acked(i *discordgo.Interaction) error {
	r := a.heldFor(i.ID)
	if r == nil {
		return nil
	}
	<-r.release
	if r.response(nil) != nil {
		return errAnsweredInPlace
	}
	return r.wait()
}

// releaseHeld releases the held ack of interaction id, if any, without
// waiting: its turn is saved.
func (a *Adapter) releaseHeld(id string) {
	if r := a.heldFor(id); r != nil {
		_ = r.open()
	}
}

// answerHeld makes resp the initial response of interaction id in place
// of its held ack, and reports whether it could: an answer that goes in
// the HTTP response itself cannot be lost to a crash, where an ack and a
// followup can.
func (a *Adapter) answerHeld(id string, resp *discordgo.InteractionResponse) bool {
	r := a.heldFor(id)
	return r != nil && r.answer(resp)
}
