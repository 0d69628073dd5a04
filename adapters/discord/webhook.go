package discord

import (
	"sync"

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
	var m discordgo.Message
	if err := a.request("PATCH", uri, uri, data, &m); err != nil {
		return nil, err
	}
	return &m, nil
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
	var m discordgo.Message
	if err := a.request("POST", uri, uri, p, &m); err != nil {
		return nil, err
	}
	return &m, nil
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
// until their turn is saved: interaction id → release.
type heldResponses struct {
	m sync.Map
}

// ready releases interaction i's held initial response, if any, and
// waits until it was written: nil once Discord has it (or for gateway
// interactions, which hold nothing).
func (a *Adapter) ready(i *discordgo.Interaction) error {
	if i == nil {
		return nil
	}
	if r, ok := a.held.m.Load(i.ID); ok {
		return r.(func() error)()
	}
	return nil
}
