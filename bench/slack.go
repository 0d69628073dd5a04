package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"troubleshooter/adapters/slack"
	"troubleshooter/bot"
)

// SlackSigningSecret signs the bench's Slack requests; it is not a real
// secret.
const SlackSigningSecret = "bench-signing-secret"

// slackFirstMessage is every delivery's text: a new DM conversation's
// first message, routed to the WhatsApp guide.
const slackFirstMessage = "my whatsapp backup to icloud keeps failing"

// driveSlackHTTP sends signed Events API deliveries over loopback HTTP into
// the real Slack adapter (or, with opts.Target, into any bot at that URL)
// for opts.Duration, from opts.Conversations concurrent senders, with
// replies going to a fake Web API (SlackAPI). Each delivery is a new DM
// conversation's first message, so the per-channel limit of about one post
// a second does not cap the figure. It returns the time-to-ack histogram
// and the run's counts, replies counting only posts the fake accepted.
func driveSlackHTTP(ctx context.Context, h bot.Handler, opts Options, progress io.Writer) (*histogram, loadStats, error) {
	api, err := NewSlackAPI(opts.APIListen, SlackAPIOptions{Latency: opts.APILatency, Limits: !opts.NoLimits,
		WorkspacePostsPerMinute: opts.SlackWorkspacePostsPerMinute})
	if err != nil {
		return nil, loadStats{}, err
	}
	defer api.Server.Close()
	target := opts.Target
	stopAdapter := func() error { return nil }
	if target == "" {
		ad, err := slack.New(slack.Config{Mode: slack.ModeHTTP, BotToken: "xoxb-bench", SigningSecret: SlackSigningSecret, APIURL: api.Server.URL + "/"},
			slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, loadStats{}, err
		}
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		runDone := make(chan error, 1)
		go func() { runDone <- ad.Run(runCtx, h) }()
		srv := httptest.NewServer(ad.HTTPHandler(h))
		defer srv.Close()
		target = srv.URL + "/slack/events"
		stopAdapter = func() error {
			cancel()
			if err := <-runDone; err != nil {
				return fmt.Errorf("bench: slack adapter: %w", err)
			}
			return nil
		}
	} else {
		fmt.Fprintf(progress, "bench: driving %s; its Web API is %s/\n", target, api.Server.URL)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Conversations}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	// Wait until the bot accepts events and posts (a Slack adapter first
	// identifies itself; a peer may take seconds to start).
	ready := time.Now().Add(15 * time.Second)
	for {
		if code, err := postSlackEvent(client, target, "EvWARMUP"+slackID(""), slackID("D"), slackID("U"), "hi"); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(ready) || ctx.Err() != nil {
			return nil, loadStats{}, fmt.Errorf("bench: the bot at %s did not start accepting events", target)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for api.Posted.Load() == 0 && time.Now().Before(ready) {
		time.Sleep(5 * time.Millisecond)
	}
	send := func(c, i int) (int, error) {
		if opts.IDs == IDsCounter {
			ch := fmt.Sprintf("D%dX%d", c, i)
			return postSlackEvent(client, target, fmt.Sprintf("Ev%d-%d", c, i), ch, "U"+ch, slackFirstMessage)
		}
		return postSlackEvent(client, target, "Ev"+slackID(""), slackID("D"), slackID("U"), slackFirstMessage)
	}
	lat, st, err := runLoad(ctx, loadTarget{send: send, replies: api.Posted.Load, answered: api.Posted.Load, limited: api.Limited.Load,
		pid: opts.TargetPID}, opts.Conversations, opts.Duration, progress)
	if err != nil {
		return nil, st, err
	}
	return lat, st, stopAdapter()
}

// PostSlackEvent sends one message.im event_callback, signed with
// SlackSigningSecret, to the Slack adapter's HTTP handler at url (its
// /slack/events path is appended), from user "U"+channel. It returns the
// HTTP status.
func PostSlackEvent(client *http.Client, url, eventID, channel, text string) (int, error) {
	return postSlackEvent(client, url+"/slack/events", eventID, channel, "U"+channel, text)
}

// postSlackEvent sends one message.im event_callback from user in channel,
// signed with SlackSigningSecret, to the events URL, and returns the HTTP
// status.
func postSlackEvent(client *http.Client, url, eventID, channel, user, text string) (int, error) {
	now := time.Now()
	body, err := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "TBENCH", "api_app_id": "ABENCH", "event_id": eventID,
		"event_time": now.Unix(),
		"event": map[string]any{"type": "message", "channel_type": "im", "channel": channel, "user": user,
			"text": text, "ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000), "event_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)},
	})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(SlackSigningSecret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
