package discord

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRateLimitStormIsBounded(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-RateLimit-Reset-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"message":"You are being rate limited.","retry_after":1e6,"global":false}`)
	}))
	defer srv.Close()
	rt := newBoundedRateLimits(http.DefaultTransport)
	for i := 1; i <= maxRateLimitRetries; i++ {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v9/channels/1/messages", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("try %d: %v", i, err)
		}
		var body struct {
			RetryAfter float64 `json:"retry_after"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || body.RetryAfter != maxRetryAfter || resp.Header.Get("X-RateLimit-Reset-After") != "10" {
			t.Errorf("try %d: %d, retry_after %v, reset %q; want capped at %v", i, resp.StatusCode, body.RetryAfter, resp.Header.Get("X-RateLimit-Reset-After"), maxRetryAfter)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v9/channels/1/messages", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, errRateLimited) {
		t.Errorf("after %d 429s: %v, want errRateLimited", maxRateLimitRetries, err)
	}
	if calls != maxRateLimitRetries+1 {
		t.Errorf("%d calls", calls)
	}
	if len(rt.hits) != 0 {
		t.Errorf("the retry count was not forgotten: %v", rt.hits)
	}
}
