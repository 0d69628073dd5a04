package slack

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBadTokens: Run returns an error when Slack refuses the bot token.
func TestBadTokens(t *testing.T) {
	fake := newFakeSlack(t)
	fake.refuseAuth = true
	ad, err := New(Config{BotToken: "xoxb-revoked", AppToken: "xapp-x", APIURL: fake.APIURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = ad.Run(ctxFor(t, 10*time.Second), nil)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("Run = %v, want an invalid_auth error", err)
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
		closeBtn := closeButton(personAddr("C1", thread, "U1"))
		e.tr.click(t, clickPayload(t, post, closeBtn, "U9", e.id("trigger")))
		e.fake.waitFor(from, "the close", func(c apiCall) bool { return c.Method == "chat.update" && c.Form.Get("channel") == supportChannel })
		e.tr.slash(t, slashPayload("U1", "CBAD", "help", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
		e.fake.waitFor(from, "the response URL note", isMethod("response_url"))
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
