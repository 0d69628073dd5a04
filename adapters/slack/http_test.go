package slack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

// TestSignatures: only requests signed with the secret and a fresh
// timestamp are processed; everything else is 401 and leaves no trace.
func TestSignatures(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	srv := e.tr.(*httpTransport).srv
	event, _ := json.Marshal(eventPayload("EvSig", messageEvent("U1", "D9", "", "1.1", "whatsapp backup fails")))
	challenge := []byte(`{"token":"legacy","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	slash := []byte(url.Values{"team_id": {"T1"}, "channel_id": {"D9"}, "user_id": {"U1"}, "command": {"/troubleshoot"}, "text": {"hi"}, "trigger_id": {"trSig"}}.Encode())
	click, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]any{"id": "U1"}, "team": map[string]any{"id": "T1"},
		"channel": map[string]any{"id": "D9"}, "trigger_id": "trClick",
		"actions": []any{map[string]any{"action_id": "tb1:0:on", "value": actionRef{User: "U1", Step: "icloud_access", Choice: "on"}.String()}}})
	interaction := []byte(url.Values{"payload": {string(click)}}.Encode())
	now := time.Now()
	tamper := func(b []byte) []byte {
		out := []byte(strings.Replace(string(b), "U1", "U2", 1))
		if string(out) == string(b) {
			t.Fatal("tamper changed nothing")
		}
		return out
	}

	type req struct {
		name   string
		path   string
		body   []byte // what is sent
		signed []byte // what was signed (nil: body)
		secret string
		at     time.Time
		strip  []string // headers removed
		want   int
	}
	tests := []req{
		{name: "valid url_verification", path: "/slack/events", body: challenge, secret: testSecret, at: now, want: 200},
		{name: "wrong secret", path: "/slack/events", body: event, secret: "not-the-secret", at: now, want: 401},
		{name: "tampered body", path: "/slack/events", body: tamper(event), signed: event, secret: testSecret, at: now, want: 401},
		{name: "stale timestamp", path: "/slack/events", body: event, secret: testSecret, at: now.Add(-6 * time.Minute), want: 401},
		{name: "future timestamp", path: "/slack/events", body: event, secret: testSecret, at: now.Add(6 * time.Minute), want: 401},
		{name: "missing signature", path: "/slack/events", body: event, secret: testSecret, at: now, strip: []string{"X-Slack-Signature"}, want: 401},
		{name: "missing timestamp", path: "/slack/events", body: event, secret: testSecret, at: now, strip: []string{"X-Slack-Request-Timestamp"}, want: 401},
		{name: "missing both", path: "/slack/events", body: event, secret: testSecret, at: now, strip: []string{"X-Slack-Signature", "X-Slack-Request-Timestamp"}, want: 401},
		{name: "slash wrong secret", path: "/slack/commands", body: slash, secret: "nope", at: now, want: 401},
		{name: "slash stale", path: "/slack/commands", body: slash, secret: testSecret, at: now.Add(-10 * time.Minute), want: 401},
		{name: "interaction tampered", path: "/slack/interactions", body: tamper(interaction), signed: interaction, secret: testSecret, at: now, want: 401},
		{name: "interaction missing headers", path: "/slack/interactions", body: interaction, secret: testSecret, at: now, strip: []string{"X-Slack-Signature", "X-Slack-Request-Timestamp"}, want: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed := tc.signed
			if signed == nil {
				signed = tc.body
			}
			r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(string(tc.body)))
			r.Header = sign(signed, tc.secret, tc.at)
			r.Header.Set("Content-Type", "application/json")
			for _, h := range tc.strip {
				r.Header.Del(h)
			}
			w := httptest.NewRecorder()
			e.ad.HTTPHandler(e.engine).ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			if tc.path == "/slack/events" && tc.want == 200 && w.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
				t.Errorf("challenge answer = %q", w.Body)
			}
		})
	}
	// Nothing unverified was processed: no API call and no session.
	time.Sleep(200 * time.Millisecond)
	if n := e.fake.count(func(c apiCall) bool { return c.Method != "auth.test" }); n != 0 {
		calls, _ := e.fake.snapshot()
		t.Errorf("unverified requests caused %d API calls:%s", n, describe(calls))
	}
	res, err := e.engine.Current(ctxFor(t, 5*time.Second), bot.Address{Platform: Platform, Workspace: "T1", Channel: "D9", User: "U1"})
	if err != nil || len(res.Replies) != 0 {
		t.Errorf("unverified requests started a conversation: %+v %v", res, err)
	}
	// The same event correctly signed is processed: the fixture is valid.
	if code, body := signedPost(t, srv.URL+"/slack/events", "application/json", event, testSecret, time.Now(), nil); code != 200 {
		t.Fatalf("valid event = %d %s", code, body)
	}
	e.fake.waitFor(0, "the reply to the valid event", isPost("D9", ""))
	refused := 0
	for _, tc := range tests {
		if tc.want == 401 {
			refused++
		}
	}
	t.Logf("signatures: %d requests (%d forged, tampered, stale, future or unsigned) → %d refused, 0 processed; %d valid → processed",
		len(tests)+1, refused, refused, len(tests)-refused+1)
}

// TestHTTPLimits: oversized bodies, wrong methods and paths are refused.
func TestHTTPLimits(t *testing.T) {
	e := newEnv(t, ModeHTTP, nil, nil)
	h := e.ad.HTTPHandler(e.engine)
	big := []byte(`{"type":"url_verification","challenge":"` + strings.Repeat("x", maxBody) + `"}`)
	r := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(string(big)))
	r.Header = sign(big, testSecret, time.Now())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body = %d, want 413", w.Code)
	}
	for _, tc := range []struct{ method, path string }{{"GET", "/slack/events"}, {"POST", "/slack/other"}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code < 400 {
			t.Errorf("%s %s = %d, want an error", tc.method, tc.path, w.Code)
		}
	}
}

// TestHTTPNotRunning: a verified delivery while Run is not running gets
// 503 so that Slack retries it, and the retry is then processed.
func TestHTTPNotRunning(t *testing.T) {
	fake := newFakeSlack(t)
	ad, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-x", SigningSecret: testSecret, APIURL: fake.APIURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := bot.NewEngine(bot.NewMemoryStore(), testRunner(t), bot.EngineConfig{}, nil)
	body, _ := json.Marshal(eventPayload("EvDown", messageEvent("U1", "D1", "", "1.2", "whatsapp backup fails")))
	r := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(string(body)))
	r.Header = sign(body, testSecret, time.Now())
	w := httptest.NewRecorder()
	ad.HTTPHandler(eng).ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("delivery with no workers = %d, want 503", w.Code)
	}
	if st := ad.Stats(); st.Refused != 1 || st.RefusedFull != 0 {
		t.Errorf("Stats after one refusal while not running: Refused %d, RefusedFull %d; want 1, 0", st.Refused, st.RefusedFull)
	}
	if !ad.seen.first("EvDown") {
		t.Error("a refused delivery stayed marked as seen; its retry would be dropped")
	}
}

// TestVerify is the table test of the signature check itself.
func TestVerify(t *testing.T) {
	body := []byte("token=x&text=hi")
	now := time.Now()
	good := sign(body, "s3cret", now)
	with := func(k, v string) http.Header {
		h := good.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	tests := []struct {
		name   string
		h      http.Header
		body   []byte
		secret string
		ok     bool
	}{
		{"valid", good, body, "s3cret", true},
		{"empty secret", good, body, "", false},
		{"wrong secret", good, body, "other", false},
		{"body changed", good, []byte("token=x&text=ho"), "s3cret", false},
		{"no v0 prefix", with("X-Slack-Signature", strings.TrimPrefix(good.Get("X-Slack-Signature"), "v0=")), body, "s3cret", false},
		{"v1 prefix", with("X-Slack-Signature", "v1="+strings.TrimPrefix(good.Get("X-Slack-Signature"), "v0=")), body, "s3cret", false},
		{"not hex", with("X-Slack-Signature", "v0=zz"), body, "s3cret", false},
		{"short", with("X-Slack-Signature", "v0=abcd"), body, "s3cret", false},
		{"timestamp not a number", with("X-Slack-Request-Timestamp", "soon"), body, "s3cret", false},
		{"timestamp changed", with("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix()+1, 10)), body, "s3cret", false},
		{"stale", sign(body, "s3cret", now.Add(-301*time.Second)), body, "s3cret", false},
		{"future", sign(body, "s3cret", now.Add(301*time.Second)), body, "s3cret", false},
		{"4 minutes old", sign(body, "s3cret", now.Add(-4*time.Minute)), body, "s3cret", true},
		{"no signature", with("X-Slack-Signature", ""), body, "s3cret", false},
		{"no timestamp", with("X-Slack-Request-Timestamp", ""), body, "s3cret", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(tc.h, tc.body, tc.secret)
			if (err == nil) != tc.ok {
				t.Errorf("verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// FuzzVerify: whatever the headers, body and secret, verify never panics,
// and accepts exactly when the signature is the HMAC of the body with the
// secret and the timestamp is fresh.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("a=b"), "secret", "v0=00", "1700000000", false)
	f.Add([]byte(`{"type":"url_verification"}`), "s", "", "", true)
	f.Add([]byte{}, "", "v0=", "x", true)
	f.Fuzz(func(t *testing.T, body []byte, secret, sig, ts string, signIt bool) {
		h := http.Header{}
		if signIt {
			h = sign(body, secret, time.Now())
		} else {
			h.Set("X-Slack-Signature", sig)
			h.Set("X-Slack-Request-Timestamp", ts)
		}
		err := verify(h, body, secret)
		if signIt && secret != "" && err != nil {
			t.Fatalf("a correct signature was refused: %v", err)
		}
		if err == nil {
			want := sign(body, secret, time.Unix(mustInt(t, h.Get("X-Slack-Request-Timestamp")), 0)).Get("X-Slack-Signature")
			if secret == "" || h.Get("X-Slack-Signature") != want {
				t.Fatalf("accepted a wrong signature %q (want %q, secret %q)", h.Get("X-Slack-Signature"), want, secret)
			}
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("accepted a non-numeric timestamp %q", s)
	}
	return n
}

// FuzzParsePayloads: the payload parsers never panic on any body.
func FuzzParsePayloads(f *testing.F) {
	f.Add([]byte("payload=%7B%22type%22%3A%22block_actions%22%7D"))
	f.Add([]byte("team_id=T1&channel_id=C1&user_id=U1&text=hi"))
	f.Add([]byte("payload="))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = parseSlash(body)
		if cb, err := parseInteraction(body); err == nil {
			ad := &Adapter{log: testLogger()}
			ad.botUser.Store("")
			ad.botID.Store("")
			_ = ad.fromInteraction(nil, cb)
		}
	})
}
