package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"troubleshooter/adapters/discord"
	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/adapters/slack"
	"troubleshooter/bot"
	"troubleshooter/flows"
)

// realFlow is the built-in guides, as `bench` runs them.
func realFlow(t *testing.T) bot.Flow {
	t.Helper()
	set, err := flows.LoadSet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runBench runs opts and returns the JSON result and the progress lines.
func runBench(t *testing.T, opts Options) (Result, string) {
	t.Helper()
	var out, progress bytes.Buffer
	opts.Progress = &progress
	if opts.Flow == nil {
		opts.Flow = realFlow(t)
	}
	opts.Store, opts.Path = cmpOr(opts.Store, "memory"), cmpOr(opts.Path, "engine")
	opts.Replicas = max(opts.Replicas, 1)
	if err := Run(context.Background(), opts, &out); err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("result %q: %v", out.String(), err)
	}
	return res, progress.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestSlackAPIRefusesPostsOverTheChannelLimit(t *testing.T) {
	api, err := NewSlackAPI("", SlackAPIOptions{Limits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Server.Close()
	frozen := time.Now()
	api.now = func() time.Time { return frozen } // no refill during the test
	post := func(method string, form url.Values) *http.Response {
		resp, err := http.PostForm(api.Server.URL+"/"+method, form)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// The burst goes through; the next post to the same channel, at once,
	// is refused with Retry-After, as Slack refuses it.
	for i := range int(slackChannelPosts.Burst) {
		resp := post("chat.postMessage", url.Values{"channel": {"D0BENCH01"}, "text": {"hi"}})
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("post %d within the burst: %d", i+1, resp.StatusCode)
		}
	}
	resp := post("chat.postMessage", url.Values{"channel": {"D0BENCH01"}, "text": {"again"}})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"error":"ratelimited"`) {
		t.Errorf("post over the limit: %d %s", resp.StatusCode, body)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q, want whole seconds of at least 1", resp.Header.Get("Retry-After"))
	}
	// Another channel has its own budget.
	if resp := post("chat.postMessage", url.Values{"channel": {"D0BENCH02"}, "text": {"hi"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("post to another channel: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	// A tiered method: Tier 3's 50 a minute, then 429.
	codes := map[int]int{}
	for range 51 {
		resp := post("chat.update", url.Values{"channel": {"D0BENCH01"}, "ts": {"1.2"}})
		codes[resp.StatusCode]++
		resp.Body.Close()
	}
	if codes[200] != 50 || codes[429] != 1 {
		t.Errorf("chat.update x51: %v, want 50 accepted and one 429", codes)
	}
	if p, l := api.Posted.Load(), api.Limited.Load(); p != int64(slackChannelPosts.Burst)+1 || l != 2 {
		t.Errorf("counted %d posts and %d 429s, want %d and 2", p, l, int(slackChannelPosts.Burst)+1)
	}
}

func TestSlackAPIWithoutLimitsAcceptsAll(t *testing.T) {
	api, err := NewSlackAPI("", SlackAPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Server.Close()
	for range 10 {
		resp, err := http.PostForm(api.Server.URL+"/chat.postMessage", url.Values{"channel": {"D1"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d without limits", resp.StatusCode)
		}
	}
}

func TestLimiterRefillsAtItsRate(t *testing.T) {
	l := newLimiter(rateLimit{Rate: 2, Burst: 2})
	t0 := time.Unix(1_700_000_000, 0)
	steps := []struct {
		at        time.Duration
		ok        bool
		remaining int
		retry     time.Duration
	}{
		{0, true, 1, 0},
		{0, true, 0, 0},
		{0, false, 0, 500 * time.Millisecond},
		{250 * time.Millisecond, false, 0, 250 * time.Millisecond},
		{500 * time.Millisecond, true, 0, 0},
		{10 * time.Second, true, 1, 0}, // full again, never above the burst
	}
	for i, s := range steps {
		ok, rem, _, retry := l.take("k", t0.Add(s.at))
		if ok != s.ok || rem != s.remaining || (retry-s.retry).Abs() > time.Millisecond {
			t.Errorf("step %d at %s: ok %v remaining %d retry %s, want %v %d %s", i, s.at, ok, rem, retry, s.ok, s.remaining, s.retry)
		}
	}
	if ok, _, _, _ := l.take("other", t0); !ok {
		t.Error("another key shares the budget")
	}
}

func TestLatencyStaysWithinItsJitter(t *testing.T) {
	l := Latency{Base: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}
	lo, hi := time.Hour, time.Duration(0)
	for range 2000 {
		d := l.next()
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 30*time.Millisecond || hi > 70*time.Millisecond || hi-lo < 30*time.Millisecond {
		t.Errorf("latencies from %s to %s, want spread over 30ms..70ms", lo, hi)
	}
	if d := (Latency{Base: time.Millisecond, Jitter: 5 * time.Millisecond}).next(); d < 0 {
		t.Errorf("negative latency %s", d)
	}
	if d := (Latency{}).next(); d != 0 {
		t.Errorf("zero latency drew %s", d)
	}
}

func TestDiscordAPILimits(t *testing.T) {
	api := NewDiscordAPI(DiscordAPIOptions{Limits: true})
	defer api.Server.Close()
	frozen := time.Now()
	api.now = func() time.Time { return frozen } // no refill during the test
	do := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, api.Server.URL+path, strings.NewReader(`{"content":"hi"}`))
		req.Header.Set("Authorization", "Bot x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// One interaction token's webhook: 5 at once, then 429 with the
	// headers and JSON body discordgo reads.
	for i := range 5 {
		resp := do("POST", "/api/v9/webhooks/1/tokA")
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(4-i) || resp.Header.Get("X-RateLimit-Bucket") == "" {
			t.Fatalf("follow-up %d: %d %v", i, resp.StatusCode, resp.Header)
		}
	}
	resp := do("PATCH", "/api/v9/webhooks/1/tokA/messages/@original")
	var body struct {
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || body.RetryAfter <= 0 || body.Global || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-RateLimit-Scope") != "user" {
		t.Errorf("over the webhook limit: %d %+v %v", resp.StatusCode, body, resp.Header)
	}
	// Interaction webhooks are outside the global limit; channel messages
	// are not: 50 a second over all channels, then a global 429.
	codes := map[int]int{}
	for i := range 51 {
		resp := do("POST", "/api/v9/channels/"+strconv.Itoa(100+i)+"/messages")
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 && resp.Header.Get("X-RateLimit-Global") != "true" {
			t.Errorf("the 51st channel message's 429 is not global: %v", resp.Header)
		}
		resp.Body.Close()
	}
	if codes[200] != 50 || codes[429] != 1 {
		t.Errorf("51 channel messages in different channels: %v, want 50 and one global 429", codes)
	}
	if r, a, l := api.Replies.Load(), api.Answered.Load(), api.Limited.Load(); r != 55 || a != 1 || l != 2 {
		t.Errorf("replies %d answered %d 429s %d, want 55, 1, 2", r, a, l)
	}
}

func TestParseDiscordRoute(t *testing.T) {
	tests := []struct {
		method, path string
		kind, res    string
		ok           bool
	}{
		{"PATCH", "/api/v9/webhooks/11/tok/messages/@original", "webhook", "11/tok", true},
		{"POST", "/api/v10/webhooks/11/tok", "webhook", "11/tok", true},
		{"POST", "/api/v9/interactions/5/tok/callback", "callback", "5", true},
		{"POST", "/api/v9/channels/7/messages", "channel-message", "7", true},
		{"PATCH", "/api/v9/channels/7/messages/8", "channel-message", "7", true},
		{"GET", "/api/v9/channels/7", "channel", "7", true},
		{"POST", "/api/v9/users/@me/channels", "dm", "", true},
		{"PUT", "/api/v9/applications/1/commands", "commands", "1", true},
		{"PUT", "/api/v9/applications/1/guilds/2/commands", "commands", "1", true},
		{"POST", "/api/v9/webhooks/11//messages/x", "", "", false},
		{"DELETE", "/api/v9/channels/7", "", "", false},
		{"GET", "/api/v8/channels/7", "", "", false},
		{"GET", "/", "", "", false},
	}
	for _, tt := range tests {
		rt, ok := parseDiscordRoute(tt.method, tt.path)
		if ok != tt.ok || rt.kind != tt.kind || rt.resource != tt.res {
			t.Errorf("%s %s = %+v %v, want %s %q %v", tt.method, tt.path, rt, ok, tt.kind, tt.res, tt.ok)
		}
	}
}

// FuzzParseDiscordRoute: any path is classified or refused without a
// panic, and what is accepted names a kind and a bucket template.
func FuzzParseDiscordRoute(f *testing.F) {
	f.Add("PATCH", "/api/v9/webhooks/11/tok/messages/@original")
	f.Add("POST", "/api/v10/channels/7/messages")
	f.Add("GET", "/api/v9//")
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, ok := parseDiscordRoute(method, path)
		if ok && (rt.kind == "" || rt.template == "") {
			t.Fatalf("%s %q accepted as %+v", method, path, rt)
		}
	})
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		stat string
		want int64
		ok   bool
	}{
		{"1234 (node) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 1000 1000000 5000", 300, true},
		{"99 (my (odd) bot) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0", 10, true},
		{"99 (short) R 1 1", 0, false},
		{"no parenthesis", 0, false},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 3 0 0", 0, false},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b 0 0", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseStatCPU(tt.stat)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseStatCPU(%q) = %d %v, want %d %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := cpuTicks(0); !ok {
		t.Error("cannot read this process's CPU time from /proc")
	}
}

// FuzzParseStatCPU: no stat line makes the parser panic or report a
// negative time.
func FuzzParseStatCPU(f *testing.F) {
	f.Add("1234 (node) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0")
	f.Add(")))")
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := parseStatCPU(s); ok && v < 0 {
			t.Fatalf("%q: negative CPU time %d", s, v)
		}
	})
}

func TestIDsLookLikeThePlatforms(t *testing.T) {
	slackRe := regexp.MustCompile(`^[UD][A-Z0-9]{9,11}$`)
	seen := map[string]bool{}
	for range 200 {
		for _, id := range []string{slackID("U"), slackID("D")} {
			if !slackRe.MatchString(id) {
				t.Fatalf("Slack id %q", id)
			}
			seen[id] = true
		}
		s := snowflake()
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || len(s) < 17 || len(s) > 20 {
			t.Fatalf("snowflake %q", s)
		}
		at := time.UnixMilli(int64(v>>22) + discordEpochMs)
		if at.After(time.Now()) || at.Before(time.Now().AddDate(-6, 0, 0)) {
			t.Fatalf("snowflake %s is from %s", s, at)
		}
	}
	if len(seen) < 390 {
		t.Errorf("only %d distinct ids in 400", len(seen))
	}
	if a, b := counterSnowflake(1, 2, 3), counterSnowflake(2, 2, 3); a == b {
		t.Error("counter ids of users and channels collide")
	}
}

func TestDiscordHTTPSignaturesAreAcceptedByTheRealAdapter(t *testing.T) {
	signer, err := newDiscordSigner()
	if err != nil {
		t.Fatal(err)
	}
	api := NewDiscordAPI(DiscordAPIOptions{})
	defer api.Server.Close()
	ad, err := discord.New(discord.Config{Token: "t", ApplicationID: discordAppID, PublicKey: signer.publicKey(), HTTPInteractions: true,
		Mode: discord.ModeEphemeral, APIURL: api.Server.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ad.InteractionsHandler(floorHandler{}))
	defer srv.Close()
	if code, err := signer.post(http.DefaultClient, srv.URL, map[string]any{"id": "1", "application_id": discordAppID, "type": 1, "token": "x", "version": 1}); err != nil || code != 200 {
		t.Fatalf("signed PING: %d %v", code, err)
	}
	if code, err := signer.post(http.DefaultClient, srv.URL, slashStart(snowflake(), snowflake(), snowflake(), "hi")); err != nil || code != 200 {
		t.Fatalf("signed /troubleshoot start: %d %v", code, err)
	}
	// Another key's signature is refused: the adapter really verifies.
	other, _ := newDiscordSigner()
	if code, err := other.post(http.DefaultClient, srv.URL, slashStart(snowflake(), snowflake(), snowflake(), "hi")); err != nil || code != http.StatusUnauthorized {
		t.Errorf("wrongly signed interaction: %d %v, want 401", code, err)
	}
}

func TestDiscordHTTPPath(t *testing.T) {
	res, progress := runBench(t, Options{Path: "discord-http", Conversations: 4, Duration: 200 * time.Millisecond,
		APILatency: Latency{Base: 2 * time.Millisecond, Jitter: time.Millisecond}})
	if res.Path != "discord-http" || res.Acked == 0 || res.Refused != 0 || res.Messages < res.Acked || res.API429s == nil || res.Limits == nil || !*res.Limits {
		t.Errorf("result %+v\n%s", res, progress)
	}
	if res.APILatencyMs != 2 || res.APIJitterMs != 1 || res.P50us <= 0 {
		t.Errorf("latency fields %+v", res)
	}
	floor, _ := runBench(t, Options{Path: "discord-http", Floor: true, Conversations: 2, Duration: 100 * time.Millisecond})
	if !floor.Floor || floor.Acked == 0 || floor.Messages == 0 {
		t.Errorf("floor result %+v", floor)
	}
}

func TestSlackHTTPPathCountsOnlyAcceptedReplies(t *testing.T) {
	// Counter ids put every delivery of a sender... in its own channel;
	// the random ones too. Each is a first message: one accepted post.
	for _, ids := range []string{IDsRandom, IDsCounter} {
		res, progress := runBench(t, Options{Path: "slack-http", Conversations: 4, Duration: 200 * time.Millisecond, IDs: ids,
			APILatency: Latency{Base: time.Millisecond}})
		if res.Acked == 0 || res.Messages != res.Acked || *res.API429s != 0 || res.CPUPct == nil {
			t.Errorf("ids %s: result %+v\n%s", ids, res, progress)
		}
	}
	floor, _ := runBench(t, Options{Path: "slack-http", Floor: true, Conversations: 2, Duration: 100 * time.Millisecond})
	if !floor.Floor || floor.Messages == 0 {
		t.Errorf("floor result %+v", floor)
	}
}

func TestSlackHTTPTargetDrivesAnExternalBot(t *testing.T) {
	// A free port for the fake Web API, for the "external" bot to post to.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := ln.Addr().String()
	ln.Close()
	ad, err := slack.New(slack.Config{Mode: slack.ModeHTTP, BotToken: "xoxb-peer", SigningSecret: SlackSigningSecret, APIURL: "http://" + apiAddr + "/"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	eng := bot.NewEngine(bot.NewMemoryStore(), realFlow(t), bot.EngineConfig{}, nil)
	go func() { done <- ad.Run(ctx, eng) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("adapter: %v", err)
		}
	}()
	srv := httptest.NewServer(ad.HTTPHandler(eng))
	defer srv.Close()
	res, progress := runBench(t, Options{Path: "slack-http", Conversations: 2, Duration: 200 * time.Millisecond,
		Target: srv.URL + "/slack/events", APIListen: apiAddr})
	if res.Target == "" || res.Store != "external" || res.Acked == 0 || res.Messages != res.Acked || !strings.Contains(progress, "driving "+srv.URL) {
		t.Errorf("result %+v\n%s", res, progress)
	}
}

func TestValidateNewFlags(t *testing.T) {
	base := Options{Store: "memory", Replicas: 1, Conversations: 1, Duration: time.Second, Path: "slack-http"}
	tests := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"latency on engine", func(o *Options) { o.Path = "engine"; o.APILatency.Base = time.Millisecond }, "apply to the slack-http"},
		{"negative jitter", func(o *Options) { o.APILatency.Jitter = -1 }, "between 0 and 10s"},
		{"bad ids", func(o *Options) { o.IDs = "sequential" }, "not one of random, counter"},
		{"target on discord", func(o *Options) { o.Path = "discord-http"; o.Target = "http://x" }, "for the slack-http path"},
		{"target with floor", func(o *Options) { o.Target = "http://x"; o.Floor = true }, "do not apply"},
		{"api-listen alone", func(o *Options) { o.APIListen = "127.0.0.1:1" }, "go with --target"},
		{"target not a URL", func(o *Options) { o.Target = "localhost:3000" }, "not an http(s) URL"},
		{"round trips on memory", func(o *Options) { o.RedisRoundTrips = true }, "for --store redis"},
		{"workspace limit on discord", func(o *Options) { o.Path = "discord-http"; o.SlackWorkspacePostsPerMinute = 600 }, "for the slack-http path"},
		{"bad path", func(o *Options) { o.Path = "teams-http" }, "not one of engine, slack-http, discord-http"},
		{"turns on discord", func(o *Options) { o.Path = "discord-http"; o.Turns = 3 }, "only on the slack-http path"},
		{"think without turns", func(o *Options) { o.Think = time.Second }, "goes with --turns"},
		{"burst on discord", func(o *Options) { o.Path = "discord-http"; o.SlackChannelBurst = 2 }, "for the slack-http path"},
	}
	for _, tt := range tests {
		o := base
		tt.edit(&o)
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	ok := base
	ok.Target, ok.APIListen, ok.TargetPID, ok.APILatency = "http://127.0.0.1:3000/slack/events", "127.0.0.1:7771", 1, Latency{Base: 50 * time.Millisecond}
	if err := ok.validate(); err != nil {
		t.Errorf("a valid --target run: %v", err)
	}
}

func TestRedisProxyCountsRoundTrips(t *testing.T) {
	// A Redis stand-in that answers +OK to every line.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				var pending []byte
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					pending = append(pending, buf[:n]...)
					for {
						i := bytes.IndexByte(pending, '\n')
						if i < 0 {
							break
						}
						pending = pending[i+1:]
						if _, err := c.Write([]byte("+OK\r\n")); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	p, err := startRedisProxy("redis://" + ln.Addr().String() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	u, _ := url.Parse(p.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply := make([]byte, 5)
	// Three requests, each written in two pieces: three round trips.
	for range 3 {
		if _, err := c.Write([]byte("PI")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("NG\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "+OK\r\n" {
			t.Fatalf("reply %q %v", reply, err)
		}
	}
	// A pipeline of two commands in one write, two answers: one round trip.
	if _, err := c.Write([]byte("A\r\nB\r\n")); err != nil {
		t.Fatal(err)
	}
	both := make([]byte, 10)
	if _, err := io.ReadFull(c, both); err != nil {
		t.Fatal(err)
	}
	if n := p.RoundTrips.Load(); n != 4 {
		t.Errorf("%d round trips counted, want 4", n)
	}
	if _, err := startRedisProxy("rediss://127.0.0.1:1/0"); err == nil {
		t.Error("a TLS URL was accepted; the proxy cannot count inside TLS")
	}
}

func TestRedisRoundTripsAreReported(t *testing.T) {
	url := redistest.URL(t)
	res, progress := runBench(t, Options{Store: "redis", RedisURL: url, RedisRoundTrips: true, Conversations: 2,
		Duration: 150 * time.Millisecond})
	if res.RedisRoundTripsPerMsg == nil || res.RedisWireRoundTripsPerMsg == nil {
		t.Fatalf("no round trips in %+v\n%s", res, progress)
	}
	// A turn takes at least one round trip. The wire count adds
	// connection set-up to the stores' own count, and may miss a few at
	// the end: a store counts a pipeline as it hands it to go-redis, so
	// the turns in flight when the run stops may never reach the wire
	// (one a conversation here, against ~200 messages).
	own, wire := *res.RedisRoundTripsPerMsg, *res.RedisWireRoundTripsPerMsg
	if own < 1 || wire < 0.9*own || wire > own+0.5 || !strings.Contains(progress, "redis round trips:") {
		t.Errorf("round trips per message: own %.2f, wire %.2f\n%s", own, wire, progress)
	}
	mem, _ := runBench(t, Options{Conversations: 1, Duration: 50 * time.Millisecond})
	if mem.RedisRoundTripsPerMsg != nil {
		t.Errorf("round trips reported for the memory store: %v", *mem.RedisRoundTripsPerMsg)
	}
}

func TestSlackHTTPTurnsWaitForEachAnswer(t *testing.T) {
	res, progress := runBench(t, Options{Path: "slack-http", Conversations: 2, Duration: 300 * time.Millisecond, Turns: 3})
	// Each sender's conversation goes on after the first message: more
	// deliveries than senders, every one answered, the count recorded.
	if res.Turns != 3 || res.Acked <= 2 || res.Refused != 0 || res.Messages < res.Acked || res.API429s == nil {
		t.Errorf("result %+v\n%s", res, progress)
	}
}

func TestChannelWatchWaitsForANewPost(t *testing.T) {
	api, err := NewSlackAPI("", SlackAPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Server.Close()
	w := api.watch("D0WATCHED1")
	defer api.unwatch("D0WATCHED1")
	api.notify("D0OTHER001")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if w.wait(ctx, 0, time.Minute) {
		t.Error("a post to another channel counted")
	}
	api.notify("D0WATCHED1")
	if !w.wait(context.Background(), 0, time.Minute) || w.wait(ctx, 1, time.Minute) {
		t.Errorf("posts counted: %d, want 1", w.posts.Load())
	}
}
