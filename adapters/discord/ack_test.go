package discord

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestHTTPAcksDoNotWaitForREST is issue 14's "acks independent of
// posting" for HTTP interactions: with every REST call held back (a
// Discord as slow as you like), 16 people's /troubleshoot start all get
// their initial response, each released by its turn's save rather than by
// the 2-second fallback; only then are the REST calls let through, and
// every one of them is answered once.
func TestHTTPAcksDoNotWaitForREST(t *testing.T) {
	const n = 16
	b := newHTTPBot(t)
	f := b.f
	gate := make(chan struct{})
	var mu sync.Mutex
	var order []string // "ack" and "rest", as they complete
	next := b.a.session.Client.Transport
	b.a.session.Client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-gate
		resp, err := next.RoundTrip(r)
		mu.Lock()
		order = append(order, "rest")
		mu.Unlock()
		return resp, err
	})
	var wg sync.WaitGroup
	tokens := make([]string, n)
	for k := range n {
		user := fmt.Sprintf("72%017d", k)
		ia := f.overHTTP(f.slash(testGuild, testChannel, user))
		tokens[k] = ia["token"].(string)
		wg.Go(func() {
			code, resp := b.post(t, mustJSON(t, ia), now(), b.priv, nil)
			if code != 200 || num(resp["type"]) != 5 {
				t.Errorf("user %d: initial response %d %v", k, code, resp)
			}
			mu.Lock()
			order = append(order, "ack")
			mu.Unlock()
		})
	}
	wg.Wait()
	close(gate)
	for _, tok := range tokens {
		f.waitCall(0, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+tok+"/messages/@original")
	}
	mu.Lock()
	defer mu.Unlock()
	for k, what := range order[:n] {
		if what != "ack" {
			t.Fatalf("completion %d was a REST call, before all %d acks: %v", k, n, order)
		}
	}
	if s := b.a.Stats(); s.RefusedUnsaved != 0 {
		t.Errorf("%d of %d turns were not saved in time and answered 'try again'", s.RefusedUnsaved, n)
	}
	for _, tok := range tokens {
		if c := f.callsSince(0, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+tok+"/messages/@original"); len(c) != 1 {
			t.Errorf("token %s: %d answers, want 1", tok, len(c))
		}
	}
}

// TestHTTPInteractionsCountAgainstTheBound: HTTP interactions are turns
// taken like gateway events: with discord.max_queued 1 and one turn still
// posting, the next interaction waits for room (counted in Stats) instead
// of starting another goroutine, and is handled once the first ends.
func TestHTTPInteractionsCountAgainstTheBound(t *testing.T) {
	b := newHTTPBot(t)
	f := b.f
	b.a.queue = newDeliveries(1)
	gate := make(chan struct{})
	next := b.a.session.Client.Transport
	b.a.session.Client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-gate
		return next.RoundTrip(r)
	})
	first := f.overHTTP(f.slash("", "760000000000000001", "750000000000000001"))
	if code, _ := b.post(t, mustJSON(t, first), now(), b.priv, nil); code != 200 {
		t.Fatalf("first: %d", code)
	}
	second := f.overHTTP(f.slash("", "760000000000000002", "750000000000000002"))
	done := make(chan int, 1)
	go func() {
		code, _ := b.post(t, mustJSON(t, second), now(), b.priv, nil)
		done <- code
	}()
	for b.a.Stats().QueueFullWaits == 0 {
		select {
		case code := <-done:
			t.Fatalf("the second interaction was taken (%d) while the first's turn held the only place", code)
		case <-time.After(time.Millisecond):
		}
	}
	close(gate)
	if code := <-done; code != 200 {
		t.Errorf("second: %d", code)
	}
	for _, ia := range []map[string]any{first, second} {
		f.waitCall(0, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original")
	}
}
