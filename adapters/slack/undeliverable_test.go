package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// TestIsUndeliverable is the table of what Send reports as
// bot.ErrUndeliverable (the outbox drops the replies) and what as
// transient (the outbox tries again, backing off, for up to a day).
func TestIsUndeliverable(t *testing.T) {
	wrapped := func(err error) error { return fmt.Errorf("chat.postMessage: %w", err) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, true},
		{"not_in_channel", slack.SlackErrorResponse{Err: "not_in_channel"}, true},
		{"is_archived", slack.SlackErrorResponse{Err: "is_archived"}, true},
		{"cannot_dm_bot", slack.SlackErrorResponse{Err: "cannot_dm_bot"}, true},
		{"msg_too_long", slack.SlackErrorResponse{Err: "msg_too_long"}, true},
		{"invalid_blocks", slack.SlackErrorResponse{Err: "invalid_blocks"}, true},
		{"restricted_action_thread_locked", slack.SlackErrorResponse{Err: "restricted_action_thread_locked"}, true},
		{"wrapped", wrapped(slack.SlackErrorResponse{Err: "channel_not_found"}), true},
		{"HTTP 400", slack.StatusCodeError{Code: 400, Status: "400 Bad Request"}, true},
		{"HTTP 403", slack.StatusCodeError{Code: 403, Status: "403 Forbidden"}, true},
		{"HTTP 404", wrapped(slack.StatusCodeError{Code: 404, Status: "404 Not Found"}), true},

		{"internal_error", slack.SlackErrorResponse{Err: "internal_error"}, false},
		{"fatal_error", slack.SlackErrorResponse{Err: "fatal_error"}, false},
		{"service_unavailable", slack.SlackErrorResponse{Err: "service_unavailable"}, false},
		{"ratelimited", slack.SlackErrorResponse{Err: "ratelimited"}, false},
		{"invalid_auth (an operator fixes the token)", slack.SlackErrorResponse{Err: "invalid_auth"}, false},
		{"missing_scope (an operator fixes the app)", slack.SlackErrorResponse{Err: "missing_scope"}, false},
		{"HTTP 429", &slack.RateLimitedError{RetryAfter: time.Second}, false},
		{"HTTP 429 status", slack.StatusCodeError{Code: 429, Status: "429 Too Many Requests"}, false},
		{"HTTP 401", slack.StatusCodeError{Code: 401, Status: "401 Unauthorized"}, false},
		{"HTTP 500", slack.StatusCodeError{Code: 500, Status: "500 Internal Server Error"}, false},
		{"HTTP 503", slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, false},
		{"network", &url.Error{Op: "Post", URL: "https://slack.com/api/chat.postMessage", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, false},
		{"timeout", context.DeadlineExceeded, false},
		{"queue full", errQueueFull, false},
	}
	for _, tc := range tests {
		if got := isUndeliverable(tc.err); got != tc.want {
			t.Errorf("%s: isUndeliverable(%v) = %v; want %v", tc.name, tc.err, got, tc.want)
		}
		if got := errors.Is(sendError(tc.err), bot.ErrUndeliverable); got != tc.want {
			t.Errorf("%s: sendError(%v) matches bot.ErrUndeliverable: %v; want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
