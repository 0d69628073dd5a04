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
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"troubleshooter/adapters/slack"
	"troubleshooter/bot"
)

// SlackSigningSecret signs the bench's Slack requests; it is not a real
// secret.
const SlackSigningSecret = "bench-signing-secret"

// FakeSlackAPI is the smallest Slack Web API the adapter needs: auth.test,
// posts, updates, permalinks and thread reads. It counts posts and, when
// onPost is not nil, hands each one's form to it.
func FakeSlackAPI(posted *atomic.Int64, onPost func(form url.Values)) *httptest.Server {
	var ts atomic.Int64
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v map[string]any) {
		v["ok"] = true
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/auth.test", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"user_id": "UBENCHBOT", "bot_id": "BBENCH", "team_id": "TBENCH"})
	})
	mux.HandleFunc("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		posted.Add(1)
		if onPost != nil {
			onPost(r.Form)
		}
		reply(w, map[string]any{"channel": r.Form.Get("channel"), "ts": fmt.Sprintf("1700000000.%06d", ts.Add(1))})
	})
	mux.HandleFunc("/chat.getPermalink", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"permalink": "https://example.slack.com/archives/D1/p1700000000000001"})
	})
	for _, m := range []string{"/chat.update", "/chat.postEphemeral"} {
		mux.HandleFunc(m, func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{}) })
	}
	mux.HandleFunc("/conversations.replies", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"messages": []any{}})
	})
	return httptest.NewServer(mux)
}

// driveSlackHTTP sends signed Events API deliveries over loopback HTTP into
// the real Slack adapter for duration, from conversations concurrent
// senders. Each delivery is a new DM conversation's first message, so the
// adapter's per-channel pacing (about one post a second per channel, as
// Slack asks) does not cap the figure. It returns the time-to-ack
// histogram, the replies the fake API received, and the elapsed time.
func driveSlackHTTP(ctx context.Context, h bot.Handler, conversations int, duration time.Duration, progress io.Writer) (*histogram, int64, time.Duration, error) {
	var posted atomic.Int64
	api := FakeSlackAPI(&posted, nil)
	defer api.Close()
	ad, err := slack.New(slack.Config{Mode: slack.ModeHTTP, BotToken: "xoxb-bench", SigningSecret: SlackSigningSecret, APIURL: api.URL + "/"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, 0, 0, err
	}
	runCtx, stopAdapter := context.WithCancel(ctx)
	defer stopAdapter()
	runDone := make(chan error, 1)
	go func() { runDone <- ad.Run(runCtx, h) }()
	srv := httptest.NewServer(ad.HTTPHandler(h))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conversations}, Timeout: 10 * time.Second}

	// Wait until the adapter has identified itself and accepts events.
	ready := time.Now().Add(5 * time.Second)
	for {
		if code, err := PostSlackEvent(client, srv.URL, "warmup", "DWARMUP", "hi"); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(ready) {
			return nil, 0, 0, fmt.Errorf("bench: the Slack adapter did not start accepting events")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for posted.Load() == 0 && time.Now().Before(ready) {
		time.Sleep(5 * time.Millisecond)
	}
	base := posted.Load()

	dctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	hists := make([]histogram, conversations)
	var sent, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conversations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; dctx.Err() == nil; i++ {
				id := fmt.Sprintf("Ev%d-%d", c, i)
				t0 := time.Now()
				code, err := PostSlackEvent(client, srv.URL, id, fmt.Sprintf("D%dX%d", c, i), "my whatsapp backup to icloud keeps failing")
				if err != nil || code != http.StatusOK {
					refused.Add(1)
					continue
				}
				hists[c].add(time.Since(t0))
				sent.Add(1)
			}
		}()
	}
	ticker := time.NewTicker(time.Second)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-ticker.C:
			fmt.Fprintf(progress, "bench: %5.1fs  %d acked  %d replies posted  %d refused\n",
				time.Since(start).Seconds(), sent.Load(), posted.Load()-base, refused.Load())
		case <-done:
			waiting = false
		}
	}
	ticker.Stop()
	// Let the queue drain (bounded), so the figure counts finished work.
	drain := time.Now().Add(5 * time.Second)
	for posted.Load()-base < sent.Load() && time.Now().Before(drain) {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stopAdapter()
	if err := <-runDone; err != nil {
		return nil, 0, 0, fmt.Errorf("bench: slack adapter: %w", err)
	}
	all := mergeHistograms(hists)
	if r := refused.Load(); r > 0 {
		fmt.Fprintf(progress, "bench: %d deliveries were refused (503: queue full) and not counted\n", r)
	}
	return all, posted.Load() - base, elapsed, nil
}

// PostSlackEvent sends one message.im event_callback, signed with
// SlackSigningSecret, to the Slack adapter's HTTP handler at url.
func PostSlackEvent(client *http.Client, url, eventID, channel, text string) (int, error) {
	body, err := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "TBENCH", "api_app_id": "ABENCH", "event_id": eventID,
		"event_time": time.Now().Unix(),
		"event": map[string]any{"type": "message", "channel_type": "im", "channel": channel, "user": "U" + channel,
			"text": text, "ts": strconv.FormatInt(time.Now().UnixMicro(), 10)},
	})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, url+"/slack/events", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(SlackSigningSecret))
	mac.Write([]byte("v0:" + ts + ":" + string(body)))
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
