package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDedupe(t *testing.T) {
	d := newDedupe(time.Minute)
	now := time.Unix(0, 0)
	d.now = func() time.Time { return now }
	if !d.first("a") || d.first("a") || !d.first("b") || !d.first("") || !d.first("") {
		t.Fatal("first")
	}
	now = now.Add(2 * time.Minute)
	if !d.first("a") {
		t.Error("id still remembered after its TTL")
	}
	d.forget("a")
	if !d.first("a") {
		t.Error("forget")
	}
}

// TestAcceptConcurrentCopies: while the first copy of a delivery runs, a
// second copy is not acknowledged as its duplicate: it waits for the
// first's outcome and, when the first is refused (its turn failed), runs
// itself. (Acknowledging the second while the first is then refused would
// lose the delivery: Slack stops retrying after any 2xx.)
func TestAcceptConcurrentCopies(t *testing.T) {
	ad := testAdapter(t)
	ad.work.open()
	var runs atomic.Int32
	d := &delivery{id: "EvCopy", key: "k", do: func(ctx context.Context) {
		if runs.Add(1) == 1 {
			time.Sleep(100 * time.Millisecond)
			refuse(ctx, errors.New("the store is down"))
		}
	}}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- ad.accept(context.Background(), d) }()
	}
	refused := 0
	for range 2 {
		if err := <-errs; err != nil {
			refused++
		}
	}
	if refused != 1 || runs.Load() != 2 {
		t.Fatalf("%d copies refused after %d runs, want 1 refused (the failed turn) and 2 runs", refused, runs.Load())
	}
	// Later copies are duplicates of the acknowledged one.
	if err := ad.accept(context.Background(), d); err != nil || runs.Load() != 2 {
		t.Fatalf("duplicate: %v, %d runs", err, runs.Load())
	}
}

// TestRetriesProduceOneReply: the same event delivered three times (HTTP
// retries with X-Slack-Retry-Num; Socket Mode redelivery with the same
// envelope) gets one reply.
func TestRetriesProduceOneReply(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, nil, nil)
			p := eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "my whatsapp backup to icloud keeps failing"))
			for retry := range 3 {
				e.tr.event(t, p, retry)
			}
			e.fake.waitFor(0, "the reply", isPost("D1", ""))
			// Let any second reply arrive before counting.
			time.Sleep(300 * time.Millisecond)
			if n := e.fake.count(isPost("D1", "")); n != 1 {
				t.Errorf("%d replies to one event delivered three times, want 1", n)
			}
		})
	}
}

// TestRetryAfterRestartIsDeduped: a redelivery reaching a new process is
// caught by the engine's durable dedupe (the event id is the Message id).
func TestRetryAfterRestartIsDeduped(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	p := eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "my whatsapp backup to icloud keeps failing"))
	e.tr.event(t, p, 0)
	e.fake.waitFor(0, "the reply", isPost("D1", ""))
	e.stop()
	e2 := newEnv(t, ModeHTTP, e.fake, e.store)
	e2.tr.event(t, p, 1)
	time.Sleep(300 * time.Millisecond)
	if n := e.fake.count(isPost("D1", "")); n != 1 {
		t.Errorf("%d replies after a redelivery to a restarted process, want 1", n)
	}
}

// TestReplayConcurrentRedeliveries: 1,000 events, each delivered 5 times
// at once through the signed HTTP endpoint (as Slack's retries and a
// misbehaving proxy might), produce exactly 1,000 replies. A copy refused
// with 503 is retried, as Slack does when no copy was acknowledged.
func TestReplayConcurrentRedeliveries(t *testing.T) {
	const events, copies = 1000, 5
	start := time.Now()
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}})
	url := e.tr.(*httpTransport).srv.URL + "/slack/events"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	post := func(body []byte) (int, error) {
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
	var deliveries, refused, failed atomic.Int64
	sem := make(chan struct{}, 40)
	var wg sync.WaitGroup
	for i := range events {
		body, _ := json.Marshal(eventPayload(fmt.Sprintf("EvReplay%04d", i),
			messageEvent(fmt.Sprintf("UR%04d", i), fmt.Sprintf("DR%04d", i), "", fmt.Sprintf("1700002000.%06d", i), "my backup fails")))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var acked atomic.Bool
			var copiesWG sync.WaitGroup
			gate := make(chan struct{})
			for range copies {
				copiesWG.Go(func() {
					<-gate
					code, err := post(body)
					deliveries.Add(1)
					switch {
					case err != nil:
						failed.Add(1)
					case code == http.StatusOK:
						acked.Store(true)
					default:
						refused.Add(1)
					}
				})
			}
			close(gate)
			copiesWG.Wait()
			for attempt := 0; !acked.Load() && attempt < 10; attempt++ {
				time.Sleep(100 * time.Millisecond)
				code, err := post(body)
				deliveries.Add(1)
				if err == nil && code == http.StatusOK {
					acked.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d deliveries failed at the HTTP level", n)
	}
	isReply := func(c apiCall) bool {
		return c.Method == "chat.postMessage" && c.Status == 200 && strings.HasPrefix(c.Form.Get("channel"), "DR")
	}
	deadline := time.Now().Add(40 * time.Second)
	for e.fake.count(isReply) < events && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let any extra reply arrive
	replies := e.fake.count(isReply)
	perChannel := map[string]int{}
	calls, _ := e.fake.snapshot()
	for _, c := range calls {
		if isReply(c) {
			perChannel[c.Form.Get("channel")]++
		}
	}
	for ch, n := range perChannel {
		if n != 1 {
			t.Errorf("%s got %d replies", ch, n)
		}
	}
	if replies != events {
		t.Errorf("%d replies to %d events delivered %d times each, want %d", replies, events, copies, events)
	}
	elapsed := time.Since(start)
	if elapsed > 50*time.Second {
		t.Errorf("took %v", elapsed)
	}
	t.Logf("replay: %d deliveries (%d refused with 503 and retried), %d replies, %v", deliveries.Load(), refused.Load(), replies, elapsed.Round(time.Millisecond))
}
