package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"troubleshooter/bot"
)

// echoFlow is a tiny guide: every message is echoed back ("Got it: …")
// with a yes/no question. It stands in for the real guides where a test is
// about the adapter, not the guide (adapters never import flows outside
// tests, and the echo is the worst case for escaping).
type echoFlow struct{}

func (echoFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	if s.Guide == "" {
		s.Guide, s.GuideVersion = "echo", "1"
	}
	s.Step = "ask"
	said := m.Text
	if m.Choice != "" {
		said = "choice " + m.Choice
	}
	return bot.Turn{Replies: []bot.Reply{{Text: "Got it: " + said}, echoQuestion}}, nil
}

var echoQuestion = bot.Reply{Text: "Is that **right**?", Choices: []bot.Choice{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}}}

func (echoFlow) Current(s *bot.Session) ([]bot.Reply, error) {
	if s.Guide == "" {
		return nil, nil
	}
	return []bot.Reply{echoQuestion}, nil
}

func (echoFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Platform: s.Address.Platform, Guide: s.Guide, Kind: kind, Step: s.Step, Started: s.Started, Ended: at}
}

// TestHostileInputs sends hostile messages through the HTTP Events API
// endpoint: each gets a sane reply within Slack's limits, and no posted
// message contains a mention, broadcast or link token the person wrote.
func TestHostileInputs(t *testing.T) {
	inputs := []struct{ name, text string }{
		{"100 KB", strings.Repeat("my backup fails ", 6400)},
		{"NUL and control chars", "a\x00b\x01c\x1b[31mred\x7f\u0085 done\r\n"},
		{"RTL override", "invoice\u202Egnp.exe and \u2066isolate\u2069"},
		{"zero-width", "zero\u200b\u200c\u200dwidth\ufeff"},
		{"only emoji", "🔥🙂👍🏽👨‍👩‍👧"},
		{"<!channel>", "<!channel> help"},
		{"<!here>", "<!here|here>"},
		{"<!everyone>", "<!everyone>"},
		{"user mention", "<@U123> look"},
		{"<!subteam^S1>", "<!subteam^S1|@staff> help"},
		{"@channel", "@channel @here @everyone"},
		{"spoofed link", "<https://evil.example|click>"},
	}
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}})
	for i, in := range inputs {
		e.tr.event(t, eventPayload(e.id("Ev"), messageEvent(fmt.Sprintf("UH%d", i), fmt.Sprintf("DH%d", i), "", e.ts(), in.text)), 0)
	}
	answered, pings := 0, 0
	for i, in := range inputs {
		c, _ := e.fake.waitFor(0, "the reply to "+in.name, isPost(fmt.Sprintf("DH%d", i), ""))
		texts := strings.Join(allTexts(t, c), "\n")
		if !strings.Contains(texts, "Got it: ") || len(buttonsOf(t, c)) != 2 {
			t.Errorf("%s: not a sane reply: %.200q", in.name, texts)
			continue
		}
		answered++
		if tok := massPing(t, c); tok != "" {
			pings++
			t.Errorf("%s: the reply contains %q: %.300q", in.name, tok, texts)
		}
		if notVerbatim(t, c) {
			t.Errorf("%s: a mrkdwn text without verbatim", in.name)
		}
		for _, r := range texts {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Errorf("%s: the reply contains %U", in.name, r)
				break
			}
		}
		checkLimits(t, c)
	}
	// Nothing else was posted (one reply each).
	if n := e.fake.count(func(c apiCall) bool { return c.Method == "chat.postMessage" }); n != len(inputs) {
		t.Errorf("%d posts for %d messages", n, len(inputs))
	}
	t.Logf("hostile inputs: %d sent, %d answered, %d mass pings", len(inputs), answered, pings)
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

// lockedBuffer is a bytes.Buffer safe for concurrent writers (a slog
// handler's output).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsStayOut runs conversations, clicks, errors, a 429, a handoff
// and its close through both modes with known secrets, and checks that no
// secret appears in the debug log, in any request the adapter made (but
// the token field and Authorization header that carry it by design), or
// in any HTTP answer it gave.
func TestSecretsStayOut(t *testing.T) {
	const (
		botToken = "xoxb-SECRETBOT-0d6c1f77"
		appToken = "xapp-SECRETAPP-9a7e2b31"
		signing  = "SECRETSIGN-4f1e88aa0c"
	)
	secrets := []string{botToken, appToken, signing, "SECRETBOT", "SECRETAPP", "SECRETSIGN"}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fake := newFakeSlack(t)
	var answers []string
	for _, mode := range modes {
		e := newEnvOpts(t, mode, envOpts{fake: fake, log: log, handoff: true, cfg: func(c *Config) {
			c.BotToken = botToken
			if mode == ModeSocket {
				c.AppToken = appToken
			} else {
				c.SigningSecret = signing
			}
			withSupport(supportGroup)(c)
		}})
		if ht, ok := e.tr.(*httpTransport); ok {
			ht.secret = signing
			body := []byte(`{"type":"event_callback","event":{"type":"message"}}`)
			for _, secret := range []string{"wrong-secret", signing} {
				code, resp := signedPost(t, ht.srv.URL+"/slack/events", "application/json", body, secret, time.Now(), nil)
				answers = append(answers, fmt.Sprint(code, resp))
			}
			_, resp := signedPost(t, ht.srv.URL+"/slack/interactions", "application/x-www-form-urlencoded", []byte("payload=%7B"), signing, time.Now(), nil)
			answers = append(answers, resp)
		}
		e.fake.limit("chat.postMessage", 1)
		_, thread := e.converse(escalationScript)
		post, _ := e.fake.waitFor(0, "the handoff post", func(c apiCall) bool {
			return isPost(supportChannel, "")(c) && strings.Contains(c.Form.Get("text"), "Handoff") && !strings.Contains(strings.Join(allTexts(t, c), ""), "Closed")
		})
		from := e.fake.ncalls()
		closeBtn := button{ActionID: closeActionID, BlockID: handoffActionsBlock, Value: closeRef(personAddr("C1", thread, "U1")), Label: "Close"}
		e.tr.click(t, clickPayload(t, post, closeBtn, "U9", e.id("trigger")))
		e.fake.waitFor(from, "the close", func(c apiCall) bool { return c.Method == "chat.update" && c.Form.Get("channel") == supportChannel })
		e.tr.slash(t, slashPayload("U1", "CBAD", "help", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
		e.fake.waitFor(from, "the response URL note", func(c apiCall) bool { return c.Method == "response_url" })
		e.stop()
	}
	// A refused token: the error Run returns must not carry it either.
	bad := newFakeSlack(t)
	bad.refuseAuth = true
	ad, err := New(Config{BotToken: botToken, AppToken: appToken, APIURL: bad.APIURL()}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := ad.Run(ctxFor(t, 10*time.Second), nil); err != nil {
		answers = append(answers, err.Error())
	}

	leaks := 0
	check := func(where, s string) {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				leaks++
				t.Errorf("%s contains the secret %q", where, sec)
			}
		}
	}
	logText := logs.String()
	check("the log", logText)
	calls, _ := fake.snapshot()
	for _, c := range calls {
		for k, vs := range c.Form {
			if k == "token" {
				continue
			}
			check(c.Method+" form field "+k, strings.Join(vs, "\n"))
		}
		for k, vs := range c.Header {
			if k == "Authorization" {
				continue
			}
			check(c.Method+" header "+k, strings.Join(vs, "\n"))
		}
		if !strings.Contains(c.Header.Get("Content-Type"), "form") {
			check(c.Method+" body", c.Body)
		}
	}
	for _, a := range answers {
		check("an HTTP answer or error", a)
	}
	if !strings.Contains(logText, "level=DEBUG") || !strings.Contains(logText, "rate limited") {
		t.Errorf("the log did not capture debug output and the 429 warning; the test checks nothing:\n%.2000s", logText)
	}
	t.Logf("secrets: %d log lines, %d API requests, %d HTTP answers and errors checked; %d leaks",
		strings.Count(logText, "\n"), len(calls), len(answers), leaks)
}

// TestThreadOwnerLookupFails: when the thread-owner lookup fails (after a
// restart, conversations.replies errors), a mention by someone else in a
// person's thread neither starts a conversation nor makes them the
// thread's owner; once the lookup works they are told whose thread it is,
// and the owner carries on.
func TestThreadOwnerLookupFails(t *testing.T) {
	plain := func(h bot.Handler) bot.Handler { return plainHandler{h} }
	for _, tc := range []struct {
		name string
		wrap func(bot.Handler) bot.Handler
	}{{"engine", nil}, {"without Resumer", plain}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWrapped(t, ModeHTTP, nil, nil, tc.wrap)
			_, q, from := e.start("U1", "C1", "whatsapp backup fails")
			thread := q.Form.Get("thread_ts")
			e.stop()
			e2 := newEnvWrapped(t, ModeHTTP, e.fake, e.store, tc.wrap)
			e2.fake.failWith("conversations.replies", "internal_error")
			mention := func(user string) {
				ts := e2.ts()
				e2.tr.event(t, eventPayload(e2.id("Ev"), map[string]any{"type": "app_mention", "user": user, "text": "<@UBOT> me too",
					"ts": ts, "thread_ts": thread, "channel": "C1", "event_ts": ts}), 0)
			}
			mention("U2")
			eph, _ := e2.fake.waitFor(from, "the trouble note to U2", isEphemeral("C1", "U2"))
			if !strings.Contains(textOf(t, eph), "trouble") {
				t.Errorf("note = %q", textOf(t, eph))
			}
			// U2's plain reply in the thread is not followed either.
			e2.tr.event(t, eventPayload(e2.id("Ev"), messageEvent("U2", "C1", thread, e2.ts(), "7 GB")), 0)
			time.Sleep(200 * time.Millisecond)
			if owner := e2.ad.threads.get("C1", thread); owner == "U2" {
				t.Error("a failed lookup made U2 the thread's owner")
			}
			if n := e2.fake.count(isPost("C1", thread)); n != 1 {
				t.Errorf("%d posts in the thread, want 1 (U1's question)", n)
			}
			if cur, err := e2.engine.Current(ctxFor(t, 5*time.Second), personAddr("C1", thread, "U2")); err != nil || len(cur.Replies) != 0 {
				t.Errorf("U2 got a conversation in U1's thread: %+v %v", cur, err)
			}
			// The lookup works again: U2 is told whose thread it is.
			e2.fake.failWith("conversations.replies", "")
			from = e2.fake.ncalls()
			mention("U2")
			eph, _ = e2.fake.waitFor(from, "the not-yours note", isEphemeral("C1", "U2"))
			if !strings.Contains(textOf(t, eph), "<@U1>") {
				t.Errorf("note = %q", textOf(t, eph))
			}
			next, _ := e2.answer(q, "click:on", "U1", from)
			if got := stepOf(t, next); got != "backup_size" {
				t.Errorf("U1 after the failed lookups: step %q, %q", got, textOf(t, next))
			}
		})
	}
}

// TestAPIErrorHook: the hook hears every failed Web API call, rate limits
// apart from other errors, and nothing for successful ones.
func TestAPIErrorHook(t *testing.T) {
	var limited, other atomic.Int64
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}, tune: func(a *Adapter) {
		a.SetAPIErrorHook(func(rl bool) {
			if rl {
				limited.Add(1)
			} else {
				other.Add(1)
			}
		})
	}})
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "hi")), 0)
	e.fake.waitFor(0, "the reply", isPost("D1", ""))
	if limited.Load() != 0 || other.Load() != 0 {
		t.Errorf("hook called for successful calls: %d %d", limited.Load(), other.Load())
	}
	e.fake.failWith("chat.postMessage", "ratelimited")
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D2", "", e.ts(), "hi")), 0)
	e.fake.waitFor(0, "the refused post", func(c apiCall) bool { return c.Method == "chat.postMessage" && c.Form.Get("channel") == "D2" })
	e.fake.failWith("chat.postMessage", "channel_not_found")
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D3", "", e.ts(), "hi")), 0)
	e.fake.waitFor(0, "the refused post", func(c apiCall) bool { return c.Method == "chat.postMessage" && c.Form.Get("channel") == "D3" })
	deadline := time.Now().Add(5 * time.Second)
	for (limited.Load() < 1 || other.Load() < 1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if limited.Load() != 1 || other.Load() != 1 {
		t.Errorf("hook: %d rate limited, %d other; want 1 and 1", limited.Load(), other.Load())
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{context.Canceled, false},
	} {
		before := limited.Load() + other.Load()
		e.ad.apiFailed(tc.err)
		if limited.Load()+other.Load() != before {
			t.Errorf("hook called for %v", tc.err)
		}
	}
	e.ad.SetAPIErrorHook(nil)
	e.ad.apiFailed(fmt.Errorf("x"))
}
