package slack

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// undeliverableSlackError lists chat.postMessage errors that no retry
// fixes for that conversation: the channel or thread is gone, archived or
// closed to the bot, or Slack rejects the message itself. Errors about
// the bot as a whole (invalid_auth, missing_scope, token_revoked) are not
// here: an operator fixes those, and the replies should then go out.
var undeliverableSlackError = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true,
	"cannot_dm_bot": true, "messages_tab_disabled": true, "user_not_found": true,
	"team_access_not_granted": true, "ekm_access_denied": true,
	"cannot_reply_to_message": true, "thread_not_found": true,
	"msg_too_long": true, "no_text": true, "too_many_attachments": true,
	"invalid_blocks": true, "invalid_blocks_format": true,
}

// isUndeliverable reports whether err, from posting to a conversation,
// is Slack refusing for good (bot.ErrUndeliverable): one of
// undeliverableSlackError or a restricted_action* error, or an HTTP 400,
// 403, 404 or 410. Everything else — network errors, timeouts, 5xx,
// 429 and ratelimited, Slack's internal_error, auth errors — is transient.
func isUndeliverable(err error) bool {
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	switch {
	case errors.As(err, &se):
		return undeliverableSlackError[se.Err] || strings.HasPrefix(se.Err, "restricted_action")
	case errors.As(err, &sc):
		switch sc.Code {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
			return true
		}
	}
	return false
}

// sendError wraps err, a failed post of Send, for the engine: with
// bot.ErrUndeliverable when no retry can fix it, so that the outbox
// sweeper drops the replies instead of trying again for hours.
func sendError(err error) error {
	if isUndeliverable(err) {
		return fmt.Errorf("slack: sending to a conversation: %w: %w", bot.ErrUndeliverable, bot.RedactURL(err))
	}
	return fmt.Errorf("slack: sending to a conversation: %w", bot.RedactURL(err))
}
