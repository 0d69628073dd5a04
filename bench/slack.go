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
	"sync/atomic"
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

// replyWait bounds how long a sender of a multi-turn conversation waits
// for the bot's answer before its next message.
const replyWait = 10 * time.Second

// driveSlackHTTP sends signed Events API deliveries over loopback HTTP into
// the real Slack adapter (or, with opts.Target, into any bot at that URL)
// for opts.Duration, from opts.Conversations concurrent senders, with
// replies going to a fake Web API (SlackAPI). Each delivery is a new DM
// conversation's first message, so the per-channel limit of about one post
// a second does not cap the figure. It returns the time-to-ack histogram
// and the run's counts, replies counting only posts the fake accepted.
func driveSlackHTTP(ctx context.Context, h bot.Handler, opts Options, progress io.Writer) (*histogram, loadStats, error) {
	api, err := NewSlackAPI(opts.APIListen, SlackAPIOptions{Latency: opts.APILatency, Limits: !opts.NoLimits,
		WorkspacePostsPerMinute: opts.SlackWorkspacePostsPerMinute, ChannelBurst: opts.SlackChannelBurst})
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
	// Each sender talks in one conversation (a DM channel and its person)
	// for opts.Turns messages, then opens a new one. With more than one
	// turn a sender waits for the bot's answer (and opts.Think) before
	// its next message, as a person does.
	turns := max(opts.Turns, 1)
	type conversation struct {
		channel, user string
		watch         *channelWatch
		before        int64 // the channel's posts before the last message
	}
	convs := make([]conversation, opts.Conversations)
	var unanswered atomic.Int64
	send := func(c, i int) (int, error) {
		cv, k := &convs[c], i%turns
		if k == 0 || cv.channel == "" {
			if cv.watch != nil {
				api.unwatch(cv.channel)
			}
			if opts.IDs == IDsCounter {
				cv.channel = fmt.Sprintf("D%dX%d", c, i/turns)
				cv.user = "U" + cv.channel
			} else {
				cv.channel, cv.user = slackID("D"), slackID("U")
			}
			if turns > 1 {
				cv.watch = api.watch(cv.channel)
			}
		}
		text := slackFirstMessage
		if k > 0 {
			text = Script[k%len(Script)]
		}
		if cv.watch != nil {
			cv.before = cv.watch.posts.Load()
		}
		id := "Ev" + slackID("")
		if opts.IDs == IDsCounter {
			id = fmt.Sprintf("Ev%d-%d", c, i)
		}
		return postSlackEvent(client, target, id, cv.channel, cv.user, text)
	}
	var after func(ctx context.Context, c, i int)
	if turns > 1 {
		after = func(ctx context.Context, c, i int) {
			cv := &convs[c]
			if !cv.watch.wait(ctx, cv.before, replyWait) && ctx.Err() == nil {
				unanswered.Add(1)
			}
			if opts.Think > 0 {
				select {
				case <-time.After(opts.Think):
				case <-ctx.Done():
				}
			}
		}
	}
	lat, st, err := runLoad(ctx, loadTarget{send: send, after: after, replies: api.Posted.Load, answered: api.Posted.Load, limited: api.Limited.Load,
		pid: opts.TargetPID}, opts.Conversations, opts.Duration, progress)
	if err != nil {
		return nil, st, err
	}
	if by := api.LimitedBy(); len(by) > 0 {
		fmt.Fprintf(progress, "bench: 429s by method: %v\n", by)
	}
	if n := unanswered.Load(); n > 0 {
		fmt.Fprintf(progress, "bench: %d messages got no answer within %s; their senders went on\n", n, replyWait)
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
