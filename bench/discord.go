package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"troubleshooter/adapters/discord"
	"troubleshooter/bot"
)

// discordAppID is the bench application's id.
const discordAppID = "1100000000000000000"

// driveDiscordHTTP sends signed Discord HTTP interactions (/troubleshoot
// start with a problem, in a DM, as a new conversation's first message)
// over loopback into the real Discord adapter for opts.Duration, from
// opts.Conversations concurrent senders. The adapter replies through a
// fake Discord REST API (DiscordAPI). It returns the time-to-ack
// histogram (the interaction's HTTP response) and the run's counts,
// replies counting only edits and follow-ups the fake accepted.
func driveDiscordHTTP(ctx context.Context, h bot.Handler, opts Options, progress io.Writer) (*histogram, loadStats, error) {
	api := NewDiscordAPI(DiscordAPIOptions{Latency: opts.APILatency, Limits: !opts.NoLimits})
	defer api.Server.Close()
	signer, err := newDiscordSigner()
	if err != nil {
		return nil, loadStats{}, err
	}
	ad, err := discord.New(discord.Config{Token: "bench-token", ApplicationID: discordAppID, PublicKey: signer.publicKey(),
		HTTPInteractions: true, Mode: discord.ModeEphemeral, APIURL: api.Server.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, loadStats{}, err
	}
	mux := http.NewServeMux()
	mux.Handle(discord.InteractionsPath, ad.InteractionsHandler(h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + discord.InteractionsPath
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Conversations}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	ready := time.Now().Add(5 * time.Second)
	for api.Answered.Load() == 0 {
		if code, err := signer.post(client, url, slashStart(snowflake(), snowflake(), snowflake(), "hi")); err != nil || code != http.StatusOK {
			return nil, loadStats{}, fmt.Errorf("bench: the Discord adapter refused a signed interaction: %d %v", code, err)
		}
		for api.Answered.Load() == 0 && time.Now().Before(ready) {
			time.Sleep(5 * time.Millisecond)
		}
		if time.Now().After(ready) {
			return nil, loadStats{}, fmt.Errorf("bench: the Discord adapter did not reply to an interaction")
		}
	}
	send := func(c, i int) (int, error) {
		if opts.IDs == IDsCounter {
			return signer.post(client, url, slashStart(counterSnowflake(3, c, i), counterSnowflake(1, c, i), counterSnowflake(2, c, i), slackFirstMessage))
		}
		return signer.post(client, url, slashStart(snowflake(), snowflake(), snowflake(), slackFirstMessage))
	}
	// The adapter answers in the background after the ack; runLoad's drain
	// waits for those answers.
	return runLoad(ctx, loadTarget{send: send, replies: api.Replies.Load, answered: api.Answered.Load, limited: api.Limited.Load},
		opts.Conversations, opts.Duration, progress)
}

// discordSigner signs interactions as Discord does: Ed25519 over
// X-Signature-Timestamp followed by the body.
type discordSigner struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newDiscordSigner() (*discordSigner, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &discordSigner{pub: pub, priv: priv}, nil
}

// publicKey is the hex public key, as the developer portal shows it.
func (s *discordSigner) publicKey() string { return hex.EncodeToString(s.pub) }

// request builds a signed POST of body to url, timestamped now.
func (s *discordSigner) request(url string, body []byte, now time.Time) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Timestamp", ts)
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(s.priv, append([]byte(ts), body...))))
	return req, nil
}

// post sends interaction v, signed, and returns the HTTP status.
func (s *discordSigner) post(client *http.Client, url string, v any) (int, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	req, err := s.request(url, body, time.Now())
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// slashStart is a "/troubleshoot start problem:<text>" interaction from
// user in their DM channel with the bot.
func slashStart(id, user, channel, text string) map[string]any {
	token := make([]byte, 48)
	_, _ = rand.Read(token) // crypto/rand.Read never fails (Go 1.24+)
	return map[string]any{
		"id": id, "application_id": discordAppID, "type": 2, "token": "aW50ZXJhY3Rpb246" + hex.EncodeToString(token), "version": 1,
		"channel_id": channel, "channel": map[string]any{"id": channel, "type": 1},
		"user":   map[string]any{"id": user, "username": "user" + user[len(user)-4:], "global_name": "Bench User", "discriminator": "0"},
		"locale": "en-US", "app_permissions": "562949953601536", "context": 1,
		"data": map[string]any{"id": "1100000000000000002", "name": discord.CommandName, "type": 1,
			"options": []any{map[string]any{"type": 1, "name": "start",
				"options": []any{map[string]any{"type": 3, "name": "problem", "value": text}}}}},
	}
}
