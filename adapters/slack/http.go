package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"troubleshooter/bot"
)

// maxBody bounds a request body from Slack. Interaction payloads carry the
// clicked message's blocks, so they are the largest; ours stay far below.
const maxBody = 1 << 20

// HTTPHandler returns the handler of Slack's HTTP requests, for the bot's
// HTTP server: POST /slack/events (Events API, including url_verification),
// /slack/interactions (button clicks, including Close on handoff posts)
// and /slack/commands (the slash command). If h implements
// bot.HandoffCloser (directly or through Unwrap), Close clicks close
// handoffs. Every request's signature is verified with the signing secret
// and timestamps more than 5 minutes off are refused; an unverified request
// gets 401 and nothing is processed. A verified request is handled at once
// and acknowledged (200) once its turn is saved; the replies are posted
// afterwards. While Run is not running (or is shutting down), and when the
// turn fails or cannot finish in time, it gets 503 so that Slack delivers
// it again. Bodies over 1 MiB get 413. The handler is safe for concurrent use.
func (a *Adapter) HTTPHandler(h bot.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.verified(w, r)
		if !ok {
			return
		}
		ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			// A verified event we cannot read would fail the same way
			// again: acknowledge it rather than have Slack retry.
			a.log.Warn("unreadable Events API request", "err", err)
			w.WriteHeader(http.StatusOK)
			return
		}
		if ev.Type == slackevents.URLVerification {
			var uv slackevents.ChallengeResponse
			if err := json.Unmarshal(body, &uv); err != nil {
				http.Error(w, "bad url_verification", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, uv.Challenge)
			return
		}
		if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
			a.log.Debug("Slack retried an event", "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
		}
		a.respond(w, r, a.fromEvent(h, ev))
	})
	mux.HandleFunc("POST /slack/interactions", func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.verified(w, r)
		if !ok {
			return
		}
		cb, err := parseInteraction(body)
		if err != nil {
			a.log.Warn("unreadable interaction", "err", err)
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		a.respond(w, r, final(a.fromInteraction(h, cb)))
	})
	mux.HandleFunc("POST /slack/commands", func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.verified(w, r)
		if !ok {
			return
		}
		cmd, err := parseSlash(body)
		if err != nil {
			a.log.Warn("unreadable slash command", "err", err)
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		a.respond(w, r, final(a.fromSlash(h, cmd)))
	})
	return mux
}

// respond runs d and acknowledges the request once its turn is saved, or
// answers 503 so that Slack delivers it again: while Run is not running or
// shutting down, or when the turn failed or could not finish within
// Slack's 3 seconds. An event already retried (X-Slack-Retry-Num) is not
// refused again for a failed turn: the person is told to send it again.
// Clicks and slash commands are never retried by Slack, so they are final
// from the start.
func (a *Adapter) respond(w http.ResponseWriter, r *http.Request, d *delivery) {
	if d != nil && r.Header.Get("X-Slack-Retry-Num") != "" && r.Header.Get("X-Slack-Retry-Num") != "0" {
		d.final = true
	}
	if err := a.accept(r.Context(), d); err != nil {
		a.refused.Add(1)
		a.log.Warn("refusing a Slack delivery; Slack will retry it", "err", bot.RedactURL(err))
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// final marks d as a delivery Slack will not send again.
func final(d *delivery) *delivery {
	if d != nil {
		d.final = true
	}
	return d
}

// verified reads the body (bounded) and checks its signature. On failure
// it has already answered: 413 for a body too large, 401 for anything
// unverified.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read body", http.StatusBadRequest)
		}
		return nil, false
	}
	if err := verify(r.Header, body, a.cfg.SigningSecret); err != nil {
		a.log.Warn("refused an unverified Slack request", "path", r.URL.Path, "err", err)
		http.Error(w, "unverified request", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// verify checks Slack's v0 signature of body with slack-go's verifier,
// which also refuses timestamps more than 5 minutes from now. An empty
// secret never verifies.
func verify(header http.Header, body []byte, secret string) error {
	if secret == "" {
		return errors.New("no signing secret configured")
	}
	sv, err := slack.NewSecretsVerifier(header, secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// parseSlash reads a slash command's form body.
func parseSlash(body []byte) (slack.SlashCommand, error) {
	r, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return slack.SlashCommand{}, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return slack.SlashCommandParse(r)
}

// parseInteraction reads an interaction's form body (payload=<json>).
func parseInteraction(body []byte) (slack.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slack.InteractionCallback{}, err
	}
	payload := form.Get("payload")
	if strings.TrimSpace(payload) == "" {
		return slack.InteractionCallback{}, errors.New("no payload field")
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return slack.InteractionCallback{}, err
	}
	return cb, nil
}
