package discord

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
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
	if s := b.a.Stats(); s.AcksBeforeSave != 0 {
		t.Errorf("%d of %d initial responses went by the 2 s fallback, not at their turn's save", s.AcksBeforeSave, n)
	}
	for _, tok := range tokens {
		if c := f.callsSince(0, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+tok+"/messages/@original"); len(c) != 1 {
			t.Errorf("token %s: %d answers, want 1", tok, len(c))
		}
	}
}
