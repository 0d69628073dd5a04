package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bench"
)

// slackPost is one chat.postMessage the fake Web API received.
type slackPost struct{ channel, body string }

// recordingSlackAPI is the bench's Slack Web API fake (bench.FakeSlackAPI),
// recording every post, for end-to-end tests of `serve`.
type recordingSlackAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []slackPost
}

func newRecordingSlackAPI(t *testing.T) *recordingSlackAPI {
	f := &recordingSlackAPI{}
	var posted atomic.Int64
	f.srv = bench.FakeSlackAPI(&posted, func(form url.Values) {
		body, _ := json.Marshal(form)
		f.mu.Lock()
		f.posts = append(f.posts, slackPost{form.Get("channel"), string(body)})
		f.mu.Unlock()
	})
	t.Cleanup(f.srv.Close)
	return f
}

// waitPost waits until a post to channel contains text (JSON-escaped
// form values are searched, so use plain words).
func (f *recordingSlackAPI) waitPost(t *testing.T, channel, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f.mu.Lock()
		for _, p := range f.posts {
			if p.channel == channel && strings.Contains(p.body, text) {
				f.mu.Unlock()
				return
			}
		}
		n := len(f.posts)
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no post to %s containing %q among %d posts", channel, text, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *recordingSlackAPI) count(channel string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.posts {
		if p.channel == channel {
			n++
		}
	}
	return n
}

// TestServeHandsOffAndNudgesOnSlack runs `serve` as deployed (Slack over
// the HTTP Events API, a support channel, reminders on) against a fake
// Slack Web API: an escalation posts the handoff to the support channel
// and tells the person; a person who goes quiet is reminded once; the
// metrics count both.
func TestServeHandsOffAndNudgesOnSlack(t *testing.T) {
	api := newRecordingSlackAPI(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := `
store:
  kind: memory
conversation:
  nudge_after: 1s
  idle_timeout: 1h
  sweep_every: 100ms
slack:
  mode: http
  bot_token: xoxb-e2e
  signing_secret: ` + bench.SlackSigningSecret + `
  api_url: ` + api.srv.URL + `/
  support_channel: C0SUPPORT
http:
  addr: 127.0.0.1:0
# The script answers faster than a person could: each message is applied
# before its delivery is acknowledged, so the flood limit sees that rate.
throttle:
  per_minute: 600
  burst: 100
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfgPath, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	a.log = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	admin := make(chan string, 1) // /metrics is on the operator listener
	a.adminReady = admin
	go func() { done <- a.serve(ctx, ready) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second}
	refused := 0 // 503s seen, which /metrics must count
	send := func(id, channel, text string) {
		t.Helper()
		// 503 until the adapter has connected (auth.test); Slack retries
		// such deliveries, and so does this test.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			code, err := bench.PostSlackEvent(client, base, id, channel, text)
			if err == nil && code == http.StatusOK {
				return
			}
			if err == nil && code == http.StatusServiceUnavailable {
				refused++
			}
			if time.Now().After(deadline) || code != http.StatusServiceUnavailable {
				t.Fatalf("event %s: %d %v", id, code, err)
			}
		}
	}

	// Escalation: a corrupted backup jumps straight to the last fix; when
	// it fails, the questions it skipped are asked, then the other fixes.
	send("Ev1", "D1", "my whatsapp backup is corrupted")
	api.waitPost(t, "D1", "Did that fix it")
	send("Ev2", "D1", "no")
	api.waitPost(t, "D1", "is WhatsApp allowed to use iCloud")
	for i, answer := range []string{"on", "fails", "1 GB", "50 GB", "yes", "26.1", "2.25.33.75", "green", "no", "no", "off"} {
		send(fmt.Sprintf("Ev2.%d", i), "D1", answer)
	}
	api.waitPost(t, "C0SUPPORT", "Delete the old iCloud backup and back up afresh: didn")
	api.waitPost(t, "D1", "a person will reply here")
	before := api.count("D1")
	send("Ev3", "D1", "hello? anyone?")
	time.Sleep(300 * time.Millisecond)
	if n := api.count("D1"); n != before {
		t.Errorf("the bot answered a handed-off person (%d new posts); it should stay quiet", n-before)
	}

	// A reminder: another person starts and goes quiet.
	send("Ev4", "D2", "my whatsapp backup fails")
	api.waitPost(t, "D2", "is WhatsApp allowed to use iCloud")
	api.waitPost(t, "D2", "Still there")
	time.Sleep(400 * time.Millisecond) // several more sweeps
	nudges := 0
	api.mu.Lock()
	for _, p := range api.posts {
		if p.channel == "D2" && strings.Contains(p.body, "Still there") {
			nudges++
		}
	}
	api.mu.Unlock()
	if nudges != 1 {
		t.Errorf("%d reminders sent, want exactly 1", nudges)
	}

	resp, err := client.Get("http://" + <-admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`troubleshooter_handoffs_total{platform="slack",result="posted"} 1`,
		`troubleshooter_notices_total{kind="nudge",platform="slack",result="sent"} 1`,
		// The adapter's posting figures, read at scrape time: no queue
		// was full, the deliveries refused are the 503s sent before it
		// had connected, and its calls went through the in-flight bound.
		`troubleshooter_platform_queue_full_total{platform="slack"} 0`,
		fmt.Sprintf(`troubleshooter_platform_deliveries_refused_total{platform="slack"} %d`, refused),
		`troubleshooter_platform_api_calls_in_flight{platform="slack"} `,
		`troubleshooter_platform_queued_deliveries{platform="slack"} `,
		`troubleshooter_platform_api_slot_waits_total{platform="slack"} `,
		`troubleshooter_platform_api_paced_total{platform="slack"} `,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	t.Logf("serve e2e: handoff posted to the support channel, person told, %d reply to the handed-off person, %d reminder", api.count("D1")-before, nudges)
}
