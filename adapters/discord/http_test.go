package discord

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"troubleshooter/bot"
)

type httpBot struct {
	f    *fakeDiscord
	a    *Adapter
	srv  *httptest.Server
	priv ed25519.PrivateKey
	h    *countingHandler
	// client sends the interactions (http.DefaultClient when nil).
	client *http.Client
}

func newHTTPBot(t testing.TB) *httpBot {
	t.Helper()
	f := newFakeDiscord(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(f)
	cfg.HTTPInteractions, cfg.PublicKey, cfg.Mode = true, hex.EncodeToString(pub), ModeEphemeral
	a, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := testEngine(t)
	h := &countingHandler{h: eng, n: make(chan bot.Message, 100)}
	mux := http.NewServeMux()
	mux.Handle(InteractionsPath, a.InteractionsHandler(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &httpBot{f: f, a: a, srv: srv, priv: priv, h: h}
}

// post sends body signed with key at ts (unix seconds), returning the
// status and response body.
func (b *httpBot) post(t testing.TB, body []byte, ts string, key ed25519.PrivateKey, sent []byte) (int, map[string]any) {
	t.Helper()
	if sent == nil {
		sent = body
	}
	req, _ := http.NewRequest("POST", b.srv.URL+InteractionsPath, bytes.NewReader(sent))
	req.Header.Set("Content-Type", "application/json")
	if key != nil {
		req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(key, append([]byte(ts), body...))))
		req.Header.Set("X-Signature-Timestamp", ts)
	}
	client := b.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("response %q: %v", raw, err)
		}
	}
	return resp.StatusCode, m
}

func now() string { return strconv.FormatInt(time.Now().Unix(), 10) }

func TestHTTPInteractions(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t)
	f := b.f

	// PING → PONG.
	ping := mustJSON(t, map[string]any{"id": "1", "application_id": f.appID, "type": 1, "token": "x", "version": 1})
	if code, resp := b.post(t, ping, now(), b.priv, nil); code != 200 || num(resp["type"]) != 1 {
		t.Fatalf("ping: %d %v", code, resp)
	}

	// A valid /troubleshoot: the initial response is the HTTP response,
	// the question follows over REST.
	ia := f.overHTTP(f.slash(testGuild, testChannel, alice))
	code, resp := b.post(t, mustJSON(t, ia), now(), b.priv, nil)
	if d, _ := resp["data"].(map[string]any); code != 200 || num(resp["type"]) != 5 || num(d["flags"]) != 64 {
		t.Fatalf("slash over HTTP: %d %v", code, resp)
	}
	orig := body(t, f.waitCall(0, "PATCH", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)+"/messages/@original"))
	if got := ids(orig); len(got) != 2 || got[0] != "ts1|c|"+alice+"|icloud@1|on" {
		t.Fatalf("question over HTTP: %v", orig)
	}
	if n := len(f.callsSince(0, "POST", "/api/v9/interactions/*/*/callback")); n != 0 {
		t.Errorf("%d REST callbacks for HTTP interactions", n)
	}

	// A click over HTTP: type 7 in the response, then the followup.
	q := f.lastWithComponents(testChannel, "ts1|c|"+alice+"|icloud@1")
	mark := f.Mark()
	ia = f.overHTTP(f.click(testGuild, alice, q, "ts1|c|"+alice+"|icloud@1|on"))
	code, resp = b.post(t, mustJSON(t, ia), now(), b.priv, nil)
	if code != 200 || num(resp["type"]) != 7 {
		t.Fatalf("click over HTTP: %d %v", code, resp)
	}
	if fu := followupOf(t, f, mark, ia); !strings.Contains(fu["content"].(string), "How big") || num(fu["flags"]) != 64 {
		t.Errorf("followup = %v", fu)
	}
	// A "Type the size" click is answered with the modal in the response.
	q = f.lastWithComponents(testChannel, "ts1|t|"+alice+"|size@1")
	ia = f.overHTTP(f.click(testGuild, alice, q, "ts1|t|"+alice+"|size@1|size"))
	if code, resp = b.post(t, mustJSON(t, ia), now(), b.priv, nil); code != 200 || num(resp["type"]) != 9 {
		t.Errorf("modal over HTTP: %d %v", code, resp)
	}
}

func TestHTTPInteractionsRejectUnverified(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t)
	f := b.f
	ia := f.overHTTP(f.slash(testGuild, testChannel, alice))
	good := mustJSON(t, ia)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	tampered := bytes.Replace(good, []byte(alice), []byte(bob), 1)
	old := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	future := strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10)

	tests := []struct {
		name string
		body []byte
		ts   string
		key  ed25519.PrivateKey
		sent []byte
	}{
		{"tampered body", good, now(), b.priv, tampered},
		{"wrong key", good, now(), otherKey, nil},
		{"stale timestamp", good, old, b.priv, nil},
		{"future timestamp", good, future, b.priv, nil},
		{"no signature", good, now(), nil, nil},
		{"garbage timestamp", good, "yesterday", b.priv, nil},
	}
	for _, tt := range tests {
		if code, _ := b.post(t, tt.body, tt.ts, tt.key, tt.sent); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tt.name, code)
		}
	}
	// Nothing was processed: no turn, no REST call.
	time.Sleep(50 * time.Millisecond)
	select {
	case m := <-b.h.n:
		t.Errorf("an unverified request reached the handler: %+v", m)
	default:
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("REST calls after unverified requests: %s", f.dump())
	}
	// And the same request, properly signed, is accepted.
	if code, _ := b.post(t, good, now(), b.priv, nil); code != 200 {
		t.Errorf("valid request: %d", code)
	}
	t.Logf("signatures: %d requests (tampered, wrong key, stale, future, unsigned, garbage timestamp) → %d refused, 0 processed; 1 valid → processed",
		len(tests)+1, len(tests))
	req, _ := http.NewRequest("GET", b.srv.URL+InteractionsPath, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// FuzzInteractionsVerify: no request without the private key's signature
// is ever accepted or processed, whatever its headers and body.
func FuzzInteractionsVerify(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	a, err := New(Config{Token: "t", ApplicationID: "1", PublicKey: hex.EncodeToString(pub), HTTPInteractions: true}, nil)
	if err != nil {
		f.Fatal(err)
	}
	a.now = func() time.Time { return time.Unix(1_700_000_000, 0) }
	h := a.InteractionsHandler(panicHandler{})
	f.Add([]byte(`{"type":1}`), "00", "1700000000")
	f.Add([]byte(`{"type":2,"data":{"name":"troubleshoot"}}`), strings.Repeat("ab", 64), "1700000000")
	f.Fuzz(func(t *testing.T, body []byte, sig, ts string) {
		req := httptest.NewRequest("POST", InteractionsPath, bytes.NewReader(body))
		req.Header.Set("X-Signature-Ed25519", sig)
		req.Header.Set("X-Signature-Timestamp", ts)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("unsigned request got %d", w.Code)
		}
	})
}

func TestFresh(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		ts string
		ok bool
	}{
		{"1700000000", true},
		{"1699999800", true},
		{"1700000299", true},
		{"1699999699", false},
		{"1700000301", false},
		{"", false},
		{"17e8", false},
		{"-1", false},
		{"99999999999999999999999", false},
	}
	for _, tt := range tests {
		if err := fresh(tt.ts, now); (err == nil) != tt.ok {
			t.Errorf("fresh(%q) = %v, want ok=%v", tt.ts, err, tt.ok)
		}
	}
}

func FuzzFresh(f *testing.F) {
	f.Add("1700000000")
	f.Add(" 12 ")
	f.Fuzz(func(t *testing.T, ts string) {
		now := time.Unix(1_700_000_000, 0)
		if fresh(ts, now) == nil {
			d := now.Sub(time.Unix(mustInt(t, ts), 0))
			if d > maxClockSkew || d < -maxClockSkew {
				t.Fatalf("%q accepted, %v off", ts, d)
			}
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	neg := false
	s = strings.TrimSpace(s)
	for i, c := range s {
		switch {
		case i == 0 && (c == '-' || c == '+'):
			neg = c == '-'
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
		default:
			t.Fatalf("accepted non-number %q", s)
		}
	}
	if neg {
		n = -n
	}
	return n
}
