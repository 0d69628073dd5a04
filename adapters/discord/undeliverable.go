package discord

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// isUndeliverable reports whether err, from posting to a conversation, is
// Discord refusing for good (bot.ErrUndeliverable): an HTTP 400 (the
// message is rejected), 403 (Missing Access, Missing Permissions, the
// person blocked the bot or closed their DMs: 50001, 50013, 50007), 404
// (Unknown Channel, 10003) or 410. Everything else is transient: network
// errors, timeouts, 5xx, 429 (after the transport's own retries), and 401,
// a bad token that an operator fixes, after which the replies should go
// out.
func isUndeliverable(err error) bool {
	var rest *discordgo.RESTError
	if !errors.As(err, &rest) || rest.Response == nil {
		return false
	}
	switch rest.Response.StatusCode {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// sendError wraps err, a failed post of Send, for the engine: with
// bot.ErrUndeliverable when no retry can fix it, so that the outbox
// sweeper drops the replies instead of trying again for hours.
func sendError(err error) error {
	if isUndeliverable(err) {
		return fmt.Errorf("discord: %w: %w", bot.ErrUndeliverable, bot.RedactURL(err))
	}
	return fmt.Errorf("discord: %w", bot.RedactURL(err))
}
