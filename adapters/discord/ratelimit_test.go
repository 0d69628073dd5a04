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

	"github.com/bwmarrin/discordgo"

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
	if err == nil || !errors.Is(err, errRateLimited) && !strings.Contains(err.Error(), "rate limited") || errors.Is(err, bot.ErrUndeliverable) {
		t.Errorf("long storm: err = %v, want the rate-limit give-up (transient: the outbox tries again)", err)
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
	if err := a.Send(ctxT(t), dm, []bot.Reply{{Text: "x"}}); !errors.Is(err, bot.ErrUndeliverable) || other.Load() != 1 {
		t.Errorf("403: err %v (want bot.ErrUndeliverable), hook saw %d other failures", err, other.Load())
	}
	t.Logf("API error hook: %d rate-limited, %d other failures reported", limited.Load(), other.Load())
	a.SetAPIErrorHook(nil)
}

// TestPaceUnderGlobalLimit books 300 counted calls at one instant and
// checks when each may go: no one-second window holds more than the
// limit (Discord's 50/s), however the calls bunch, and the pace still
// carries at least 90% of it.
func TestPaceUnderGlobalLimit(t *testing.T) {
	for _, limit := range []float64{50, 5, 1} {
		b := newBoundedRateLimits(nil, 1, limit)
		t0 := time.Unix(1_000_000, 0)
		const n = 300
		at := make([]time.Duration, n)
		for k := range at {
			at[k], _ = b.paceDelay(t0)
		}
		for k := range at {
			in := 0
			for _, d := range at[k:] {
				if d < at[k]+time.Second {
					in++
				}
			}
			if float64(in) > limit {
				t.Fatalf("limit %v: %d calls in the second from %v", limit, in, at[k])
			}
		}
		if rate := float64(n-1) / at[n-1].Seconds(); rate < 0.9*limit {
			t.Errorf("limit %v: %d calls took %v, %.1f a second; want at least 90%% of the limit", limit, n, at[n-1], rate)
		}
	}
}

func TestInteractionRoute(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v9/interactions/1/tok/callback":       true,
		"/api/v10/webhooks/9/tok":                   true,
		"/api/v9/webhooks/9/tok/messages/@original": true,
		"/api/v9/channels/1/messages":               false,
		"/api/v9/channels/1/messages/2/threads":     false,
		"/api/v9/users/@me/channels":                false,
		"/api/v9/applications/9/guilds/8/commands":  false,
		"/api/v9/":        false,
		"/api/v9":         false,
		"/webhooks/9/tok": false,
		"/proxy/api/v9/interactions/1/tok/callback":    false,
		"/api/v9/channels/interactions/webhooks/x/y/z": false,
	} {
		if got := interactionRoute(path); got != want {
			t.Errorf("interactionRoute(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestGlobalRateLimitPausesCountedCalls: after a global 429 on one
// channel, a message to another channel waits out its retry_after too,
// while an interaction followup (exempt from the global limit) goes at
// once; the refused message is retried and arrives.
func TestGlobalRateLimitPausesCountedCalls(t *testing.T) {
	t.Parallel()
	f := newFakeDiscord(t)
	const retry = 1.0
	f.limit(fakeLimit{Method: "POST", Prefix: "/channels/800000000000000010/", Count: 1, RetryAfter: retry, Global: true})
	a, err := New(testConfig(f), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	send := func(channel string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := a.session.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Content: "hi"})
			done <- err
		}()
		return done
	}
	first := send("800000000000000010")
	refused := f.waitCall(0, "POST", "/api/v9/channels/800000000000000010/messages")
	if refused.Status != 429 {
		t.Fatalf("first call: %d", refused.Status)
	}
	// The fake records the 429 before the client reads it: wait until
	// the client has.
	for deadline := time.Now().Add(10 * time.Second); a.Stats().GlobalRateLimited == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the global 429 was never noted")
		}
	}
	other := send("800000000000000011")
	ia := f.overHTTP(f.slash(testGuild, testChannel, alice))
	i := &discordgo.Interaction{ID: ia["id"].(string), AppID: f.appID, Token: ia["token"].(string)}
	if _, err := a.followup(i, &discordgo.WebhookParams{Content: "free"}); err != nil {
		t.Fatalf("followup during the pause: %v", err)
	}
	for _, done := range []chan error{first, other} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	var otherAt time.Time
	for _, c := range f.Calls() {
		if c.Method != "POST" {
			continue
		}
		order = append(order, c.Path)
		if strings.Contains(c.Path, "800000000000000011") {
			otherAt = c.At
		}
	}
	if len(order) != 4 || !strings.Contains(order[1], "/webhooks/") {
		t.Errorf("calls %v: want the refused message, the followup (not paused), then both messages", order)
	}
	if gap := otherAt.Sub(refused.At); gap < time.Duration(retry*float64(time.Second)) {
		t.Errorf("another channel's message went %v after a global 429 with retry_after %vs", gap, retry)
	}
	if s := a.Stats(); s.GlobalRateLimited != 1 || s.RateLimited != 1 || s.RESTPaced < 1 || s.RESTInFlight != 0 {
		t.Errorf("stats %+v: want one global 429 counted, at least one paced call, none in flight", s)
	}
}

// TestGlobal429Detection: each way Discord marks a 429 global pauses the
// counted calls for its retry_after (body first, else Retry-After),
// capped at maxRetryAfter; a route's own 429 pauses nothing.
func TestGlobal429Detection(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	for _, tt := range []struct {
		name   string
		hdr    map[string]string
		body   string
		paused time.Duration
	}{
		{"route", map[string]string{"Retry-After": "2"}, `{"retry_after":2,"global":false}`, 0},
		{"body global", nil, `{"retry_after":1.5,"global":true}`, 1500 * time.Millisecond},
		{"header global", map[string]string{"X-RateLimit-Global": "true", "Retry-After": "3"}, `not json`, 3 * time.Second},
		{"scope global", map[string]string{"X-RateLimit-Scope": "global"}, `{"retry_after":0.25}`, 250 * time.Millisecond},
		{"capped", nil, `{"retry_after":86400,"global":true}`, time.Duration(maxRetryAfter * float64(time.Second))},
		{"negative", nil, `{"retry_after":-5,"global":true}`, 0},
		{"no wait given", map[string]string{"X-RateLimit-Global": "true"}, ``, 0},
	} {
		b := respond429(t, t0, tt.hdr, tt.body)
		if got := time.Duration(b.pausedUntil.Load() - t0.UnixNano()); max(got, 0) != tt.paused {
			t.Errorf("%s: paused %v, want %v", tt.name, got, tt.paused)
		}
	}
}

// respond429 passes one 429 with hdr and body through a fresh
// boundedRateLimits whose clock stands at t0.
func respond429(t testing.TB, t0 time.Time, hdr map[string]string, body string) *boundedRateLimits {
	b := newBoundedRateLimits(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		for k, v := range hdr {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: 429, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}), 1, DefaultRequestsPerSecond)
	b.now = func() time.Time { return t0 }
	req, _ := http.NewRequest("POST", "https://discord.com/api/v9/channels/1/messages", nil)
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	resp.Body.Close()
	if b.inFlight.Load() != 0 {
		t.Fatalf("a 429 kept its slot")
	}
	return b
}

// FuzzGlobal429 feeds arbitrary 429 bodies and headers through the
// transport: it never panics, never keeps a slot, and never pauses
// longer than maxRetryAfter.
func FuzzGlobal429(f *testing.F) {
	f.Add(`{"retry_after":1.5,"global":true}`, "true", "2")
	f.Add(`{"retry_after":"x","global":"yes"}`, "", "NaN")
	f.Add(`[]`, "1", "1e308")
	f.Add(``, "global", "-Inf")
	f.Fuzz(func(t *testing.T, body, global, retryAfter string) {
		t0 := time.Unix(1_000_000, 0)
		b := respond429(t, t0, map[string]string{"X-RateLimit-Global": global, "Retry-After": retryAfter}, body)
		if d := time.Duration(b.pausedUntil.Load() - t0.UnixNano()); d > time.Duration(maxRetryAfter*float64(time.Second)) {
			t.Errorf("paused %v", d)
		}
	})
}
