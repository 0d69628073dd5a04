package discord

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
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
	rt := newBoundedRateLimits(http.DefaultTransport, 4, DefaultRequestsPerSecond)
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

func TestRateLimitHonoured(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	f.limit(fakeLimit{Method: "PUT", Prefix: "/applications/", Count: 1, RetryAfter: 0.3})
	f.limit(fakeLimit{Method: "POST", Prefix: "/webhooks/", Count: 1, RetryAfter: 0.2})
	runEngine(t, f, ModeEphemeral)

	puts := f.callsSince(0, "PUT", "/api/v9/applications/*/guilds/*/commands")
	if len(puts) != 2 || puts[0].Status != 429 || puts[1].Status != 200 {
		t.Fatalf("registration calls: %s", f.dump())
	}
	if gap := puts[1].At.Sub(puts[0].At); gap < 300*time.Millisecond {
		t.Errorf("retried after %v, before retry_after 300ms", gap)
	}

	// A 429 on a followup is waited out too, and the reply arrives.
	mark := f.Mark()
	ia := f.slash(testGuild, testChannel, alice)
	f.dispatch("INTERACTION_CREATE", ia)
	q := f.lastWithComponents(testChannel, "ts1|c|"+alice+"|icloud@1")
	ia = f.click(testGuild, alice, q, "ts1|c|"+alice+"|icloud@1|on")
	f.dispatch("INTERACTION_CREATE", ia)
	followupOf(t, f, mark, ia)
	var posts []fakeCall
	f.waitFor("a successful followup", func() bool {
		posts = nil
		for _, c := range f.calls[mark:] {
			if c.Method == "POST" && pathMatch("/api/v9/webhooks/*/*", c.Path) {
				posts = append(posts, c)
			}
		}
		return len(posts) == 2 && posts[1].Status == 200
	})
	if posts[0].Status != 429 || posts[1].At.Sub(posts[0].At) < 200*time.Millisecond {
		t.Errorf("followup retry: %s", f.dump())
	}
}

// TestRateLimitStormThroughAdapter: the fake answers 429 with retry_after
// for N calls in a row. A short storm is waited out (each retry after
// retry_after, never sooner) and the message arrives; a long one is given
// up after a bounded number of requests with an error, not retried
// forever or in a tight loop. Every failed call reaches the API error
// hook. (TestRateLimitHonoured covers single 429s on registration and
// followups; TestRateLimitStormIsBounded the transport alone.)
func TestRateLimitStormThroughAdapter(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	a, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	var limited, other atomic.Int32
	a.SetAPIErrorHook(func(rateLimited bool) {
		if rateLimited {
			limited.Add(1)
		} else {
			other.Add(1)
		}
	})
	const retryAfter, retryAfterD = 0.15, 150 * time.Millisecond
	dm := bot.Address{Platform: Platform, Channel: "7700000000000000021", User: alice}
	path := "/api/v9/channels/" + dm.Channel + "/messages"

	// A short storm: 2 refusals, then delivered.
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + dm.Channel, Count: 2, RetryAfter: retryAfter})
	t0 := time.Now()
	if err := a.Send(ctxT(t), dm, []bot.Reply{{Text: "hello"}}); err != nil {
		t.Fatalf("short storm: %v", err)
	}
	short := f.callsSince(0, "POST", path)
	if len(short) != 3 || short[2].Status != 200 {
		t.Fatalf("short storm: %d requests:\n%s", len(short), f.dump())
	}
	minGap := time.Hour
	for k := 1; k < len(short); k++ {
		minGap = min(minGap, short[k].At.Sub(short[k-1].At))
	}
	if minGap < retryAfterD {
		t.Errorf("retried after %v, before retry_after %vs", minGap, retryAfter)
	}
	t.Logf("429 storm of 2: %d requests, delivered after %v, shortest gap %v (retry_after %vs)", len(short), time.Since(t0).Round(time.Millisecond), minGap.Round(time.Millisecond), retryAfter)

	// A long storm: given up after maxRateLimitRetries+1 requests.
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + dm.Channel, Count: 50, RetryAfter: retryAfter})
	mark := f.Mark()
	t0 = time.Now()
	err = a.Send(ctxT(t), dm, []bot.Reply{{Text: "hello again"}})
	took := time.Since(t0)
	long := f.callsSince(mark, "POST", path)
	if err == nil || !errors.Is(err, errRateLimited) && !strings.Contains(err.Error(), "rate limited") {
		t.Errorf("long storm: err = %v, want the rate-limit give-up", err)
	}
	if len(long) != maxRateLimitRetries+1 {
		t.Errorf("long storm: %d requests, want %d", len(long), maxRateLimitRetries+1)
	}
	if took < maxRateLimitRetries*retryAfterD {
		t.Errorf("long storm over in %v: retried without waiting", took)
	}
	t.Logf("429 storm of 50: %d requests in %v, then gave up: %v", len(long), took.Round(time.Millisecond), err)
	if limited.Load() != int32(len(short)-1+len(long)) || other.Load() != 0 {
		t.Errorf("API error hook: %d rate limited, %d other; want %d, 0", limited.Load(), other.Load(), len(short)-1+len(long))
	}
	// Other failures reach the hook as not rate limited.
	f.mu.Lock()
	f.limits = nil
	f.mu.Unlock()
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/" + dm.Channel, Count: 1, Status: 403})
	if err := a.Send(ctxT(t), dm, []bot.Reply{{Text: "x"}}); err == nil || other.Load() != 1 {
		t.Errorf("403: err %v, hook saw %d other failures", err, other.Load())
	}
	t.Logf("API error hook: %d rate-limited, %d other failures reported", limited.Load(), other.Load())
	a.SetAPIErrorHook(nil)
}
