package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// TestOrderAndCountAtScale (issue 14): scaleConversations conversations
// (1,000 without -race; see scale_race_test.go) each send 10 messages,
// one after another as a person does (the next once the previous was
// acknowledged), as signed Events API requests over loopback into the real
// adapter and the real engine (memory store, echoTextFlow: each answer
// echoes the message it answers, in one post; without buttons, so no
// question is edited and every Web API call is an answer). The fake Web API answers every call after 50
// ms. Refused deliveries (503: more than max_queued_turns turns wait to be
// posted, as 10 messages at once to a channel paced at 10 posts a second
// make happen) are delivered again, as Slack does. Every
// acknowledged message must be answered exactly once, and each DM's
// answers must arrive in the order its messages were sent.
//
// Posts are paced per channel as always, but at 10 a second instead of
// Slack's 1 so that the test takes seconds, not a minute per conversation.
func TestOrderAndCountAtScale(t *testing.T) {
	const messages = 10
	convs := scaleConversations
	start := time.Now()
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoTextFlow{}, cfg: func(c *Config) { c.MaxQueuedTurns = scaleMaxQueued }, tune: func(a *Adapter) {
		a.pace = newPacer(100*time.Millisecond, defaultBurst)
	}})
	e.fake.latency.Store(int64(50 * time.Millisecond))
	url := e.tr.(*httpTransport).srv.URL + "/slack/events"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: convs}}
	defer client.CloseIdleConnections()
	deliver := func(body []byte) (int, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header = sign(body, testSecret, time.Now())
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var acked, refused atomic.Int64
	var failed sync.Map // conversation → error
	var wg sync.WaitGroup
	for c := range convs {
		wg.Go(func() {
			for m := range messages {
				body, _ := json.Marshal(eventPayload(fmt.Sprintf("EvScale%04d-%d", c, m),
					messageEvent(fmt.Sprintf("US%04d", c), fmt.Sprintf("DS%04d", c), "", fmt.Sprintf("1700004000.%03d%03d", c, m), fmt.Sprintf("message %d", m))))
				for attempt := 0; ; attempt++ {
					code, err := deliver(body)
					if err == nil && code == http.StatusOK {
						acked.Add(1)
						break
					}
					refused.Add(1)
					if attempt == 200 {
						failed.Store(c, fmt.Errorf("message %d: %d %v", m, code, err))
						return
					}
					// Slack retries later (after a minute; here sooner).
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	failed.Range(func(c, err any) bool {
		t.Errorf("conversation %d never acknowledged: %v", c, err)
		return true
	})
	want := int64(convs * messages)
	if acked.Load() != want {
		t.Fatalf("%d of %d messages acknowledged", acked.Load(), want)
	}
	ackedIn := time.Since(start)
	isAnswer := func(c apiCall) bool {
		return c.Method == "chat.postMessage" && c.Status == 200 && strings.HasPrefix(c.Form.Get("channel"), "DS")
	}
	// Polled, not woken per call: at this many calls a snapshot per call
	// would cost more than the test.
	deadline := time.Now().Add(50 * time.Second)
	for int64(e.fake.count(isAnswer)) < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	e.fake.waitUntil("the post queues drained", func() bool { return e.ad.Stats().QueuedTurns == 0 })
	calls, _ := e.fake.snapshot()
	got := map[string][]string{}
	for _, c := range calls {
		if isAnswer(c) {
			ch := c.Form.Get("channel")
			got[ch] = append(got[ch], c.Form.Get("text"))
		}
	}
	bad := 0
	for c := range convs {
		ch := fmt.Sprintf("DS%04d", c)
		texts := got[ch]
		ok := len(texts) == messages
		for m := 0; ok && m < messages; m++ {
			ok = strings.Contains(texts[m], fmt.Sprintf("Got it: message %d", m))
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("%s got %d answers, want %d in the order sent: %q", ch, len(texts), messages, texts)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d conversations answered wrongly", bad, convs)
	}
	st := e.ad.Stats()
	if st.RateLimited != 0 || st.TurnsLeft != 0 {
		t.Errorf("stats: %+v; want no 429s and no turn left to the outbox", st)
	}
	elapsed := time.Since(start)
	t.Logf("stats: %+v", st)
	t.Logf("%d conversations × %d messages at 50 ms API latency: %d acked (%d refused and redelivered; adapter counted %d) in %v, all answered in order in %v; peak %d posts in flight, %d turns queued, %d fake connections",
		convs, messages, acked.Load(), refused.Load(), st.RefusedFull, ackedIn.Round(time.Millisecond), elapsed.Round(time.Millisecond),
		st.InFlightPeak, st.QueuedPeak, e.fake.newConns.Load())
}

// echoTextFlow is echoFlow without the question: one post per message.
type echoTextFlow struct{ echoFlow }

func (echoTextFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	if s.Guide == "" {
		s.Guide, s.GuideVersion = "echo", "1"
	}
	s.Step = "ask"
	return bot.Turn{Replies: []bot.Reply{{Text: "Got it: " + m.Text}}}, nil
}
