package discord

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// TestIsUndeliverable is the table of what Send reports as
// bot.ErrUndeliverable (the outbox drops the replies) and what as
// transient (the outbox tries again, backing off, for up to a day).
func TestIsUndeliverable(t *testing.T) {
	rest := func(status, code int) error {
		return &discordgo.RESTError{
			Response:     &http.Response{StatusCode: status, Status: http.StatusText(status)},
			ResponseBody: fmt.Appendf(nil, `{"code":%d}`, code),
			Message:      &discordgo.APIErrorMessage{Code: code},
		}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"400 invalid form body", rest(400, 50035), true},
		{"403 missing access", rest(403, 50001), true},
		{"403 missing permissions", rest(403, 50013), true},
		{"403 cannot send messages to this user (blocked, DMs closed)", rest(403, 50007), true},
		{"404 unknown channel", rest(404, 10003), true},
		{"410", rest(410, 0), true},
		{"wrapped", fmt.Errorf("send reply 2 of 3: %w", rest(404, 10003)), true},

		{"401 (an operator fixes the token)", rest(401, 0), false},
		{"429", rest(429, 0), false},
		{"500", rest(500, 0), false},
		{"502", rest(502, 0), false},
		{"503", rest(503, 0), false},
		{"RESTError without a response", &discordgo.RESTError{}, false},
		{"rate limited after retries", &url.Error{Op: "Post", URL: "https://discord.com/api/v9/channels/1/messages", Err: errRateLimited}, false},
		{"network", &url.Error{Op: "Post", URL: "https://discord.com/api/v9/channels/1/messages", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, false},
		{"timeout", context.DeadlineExceeded, false},
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
