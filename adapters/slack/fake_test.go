package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/slackevents"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

// fakeSlack is an in-process Slack: the Web API methods the adapter calls
// (recorded), apps.connections.open and a Socket Mode websocket that sends
// hello, envelopes and pings and reads acks. It listens on 127.0.0.1 only.
type fakeSlack struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	calls   []apiCall
	nextTS  int
	limited map[string]int // method → how many 429s to answer before succeeding
	changed chan struct{}  // closed and replaced on every call

	upgrader websocket.Upgrader
	conns    chan *fakeConn
	opens    int

	refuseAuth bool              // auth.test answers invalid_auth
	roots      []map[string]any  // people's messages conversations.replies knows
	fail       map[string]string // method → Slack error every call of it answers

	// hold makes calls of a method wait until its channel is closed
	// (holdCalls); latency delays every Web API answer (as Slack's 50–300
	// ms do).
	hold    map[string]chan struct{}
	latency atomic.Int64 // nanoseconds
	// inFlight and peak count Web API requests being answered; held the
	// calls waiting on hold; newConns the TCP connections accepted.
	inFlight, peak, held atomic.Int64
	newConns             atomic.Int64
}

// apiCall is one recorded Web API call.
type apiCall struct {
	Method string
	Form   url.Values
	At     time.Time
	TS     string // the ts the fake returned (postMessage)
	Status int
	Body   string      // the raw request body
	Header http.Header // the request headers
}

// fakeConn is one Socket Mode connection.
type fakeConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	acks chan string
	done chan struct{}
}

func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{t: t, limited: map[string]int{}, fail: map[string]string{}, hold: map[string]chan struct{}{},
		changed: make(chan struct{}), conns: make(chan *fakeConn, 8), nextTS: 100}
	// slack-go sends an Origin header, as browsers do; Slack accepts it.
	f.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			f.newConns.Add(1)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Listener = l
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// APIURL is the base URL to configure.
func (f *fakeSlack) APIURL() string { return f.srv.URL + "/api/" }

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/link/") {
		f.serveSocket(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	_ = r.ParseForm()
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	if d := time.Duration(f.latency.Load()); d > 0 {
		time.Sleep(d)
	}
	f.mu.Lock()
	gate := f.hold[method]
	f.mu.Unlock()
	if gate != nil {
		f.held.Add(1)
		<-gate
		f.held.Add(-1)
	}
	// Form holds the query too: GET methods (chat.getPermalink) send
	// their arguments there.
	call := apiCall{Method: method, Form: r.Form, At: time.Now(), Status: 200, Body: string(body), Header: r.Header.Clone()}
	if method == "response_url" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		// A response URL takes JSON: its fields are recorded as the form,
		// blocks as a JSON string, as chat.update's are.
		var msg map[string]any
		if json.Unmarshal(body, &msg) == nil {
			call.Form = url.Values{}
			for k, v := range msg {
				if sv, ok := v.(string); ok {
					call.Form.Set(k, sv)
				} else {
					js, _ := json.Marshal(v)
					call.Form.Set(k, string(js))
				}
			}
		}
	}
	f.mu.Lock()
	if code, ok := f.fail[method]; ok {
		f.record(call)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
		return
	}
	if f.limited[method] > 0 {
		f.limited[method]--
		call.Status = http.StatusTooManyRequests
		f.record(call)
		f.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		return
	}
	var resp any
	switch method {
	case "auth.test":
		if f.refuseAuth {
			resp = map[string]any{"ok": false, "error": "invalid_auth"}
			break
		}
		resp = map[string]any{"ok": true, "url": "https://fake.slack.test/", "team": "Fake", "user": "troubleshooter", "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"}
	case "apps.connections.open":
		f.opens++
		u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/link/?ticket=" + strconv.Itoa(f.opens)
		resp = map[string]any{"ok": true, "url": u}
	case "chat.postMessage":
		if r.PostForm.Get("channel") == "CBAD" {
			resp = map[string]any{"ok": false, "error": "not_in_channel"}
			break
		}
		f.nextTS++
		call.TS = fmt.Sprintf("1700000000.%06d", f.nextTS)
		resp = map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": call.TS,
			"message": map[string]any{"type": "message", "text": r.PostForm.Get("text"), "ts": call.TS}}
	case "conversations.replies":
		resp = map[string]any{"ok": false, "error": "thread_not_found"}
		for _, c := range f.calls {
			if c.Method == "chat.postMessage" && c.TS != "" && c.TS == r.PostForm.Get("ts") && c.Form.Get("channel") == r.PostForm.Get("channel") {
				resp = map[string]any{"ok": true, "has_more": false, "messages": []any{map[string]any{
					"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": c.Form.Get("text"), "ts": c.TS,
					"blocks": json.RawMessage(orJSON(c.Form.Get("blocks")))}}}
			}
		}
		for _, root := range f.roots {
			if root["ts"] == r.PostForm.Get("ts") {
				resp = map[string]any{"ok": true, "has_more": false, "messages": []any{root}}
			}
		}
	case "chat.getPermalink":
		ch, ts := r.Form.Get("channel"), r.Form.Get("message_ts")
		resp = map[string]any{"ok": true, "channel": ch,
			"permalink": "https://fake.slack.test/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", "") + "?thread_ts=" + ts + "&cid=" + ch}
	case "chat.update":
		resp = map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": r.PostForm.Get("ts"), "text": r.PostForm.Get("text")}
	case "chat.postEphemeral":
		f.nextTS++
		resp = map[string]any{"ok": true, "message_ts": fmt.Sprintf("1700000000.%06d", f.nextTS)}
	case "response_url":
		resp = map[string]any{"ok": true}
	default:
		resp = map[string]any{"ok": false, "error": "unknown_method"}
	}
	f.record(call)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// orJSON is raw, or an empty JSON list when raw is empty.
func orJSON(raw string) string {
	if raw == "" {
		return "[]"
	}
	return raw
}

// record appends c and wakes waiters; f.mu must be held.
func (f *fakeSlack) record(c apiCall) {
	f.calls = append(f.calls, c)
	close(f.changed)
	f.changed = make(chan struct{})
}

// snapshot returns the calls so far and a channel closed on the next call.
func (f *fakeSlack) snapshot() ([]apiCall, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...), f.changed
}

// failWith makes every call of method answer the Slack error code; ""
// restores it.
func (f *fakeSlack) failWith(method, code string) {
	f.mu.Lock()
	if code == "" {
		delete(f.fail, method)
	} else {
		f.fail[method] = code
	}
	f.mu.Unlock()
}

// holdCalls makes calls of method wait, unanswered, until the returned
// release is called (once).
func (f *fakeSlack) holdCalls(method string) (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.hold[method] = gate
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.hold, method)
		f.mu.Unlock()
		close(gate)
	}
}

// waitUntil waits until cond holds, checking after every recorded call and
// every few milliseconds (for states no call records: requests held).
func (f *fakeSlack) waitUntil(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting until %s", what)
		}
		_, changed := f.snapshot()
		select {
		case <-changed:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// limit makes the next n calls of method answer 429 with Retry-After: 1.
func (f *fakeSlack) limit(method string, n int) {
	f.mu.Lock()
	f.limited[method] = n
	f.mu.Unlock()
}

// waitFor waits until some call at index ≥ from satisfies ok, and returns
// it with its index.
func (f *fakeSlack) waitFor(from int, what string, ok func(apiCall) bool) (apiCall, int) {
	f.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		calls, changed := f.snapshot()
		for i := from; i < len(calls); i++ {
			if ok(calls[i]) {
				return calls[i], i
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			f.t.Fatalf("timed out waiting for %s; calls since %d: %s", what, from, describe(calls[min(from, len(calls)):]))
			return apiCall{}, 0
		}
	}
}

// count returns how many calls so far satisfy ok.
func (f *fakeSlack) count(ok func(apiCall) bool) int {
	calls, _ := f.snapshot()
	n := 0
	for _, c := range calls {
		if ok(c) {
			n++
		}
	}
	return n
}

func (f *fakeSlack) ncalls() int {
	calls, _ := f.snapshot()
	return len(calls)
}

func describe(calls []apiCall) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n  %s %d channel=%s thread=%s text=%.120q", c.Method, c.Status, c.Form.Get("channel"), c.Form.Get("thread_ts"), c.Form.Get("text"))
	}
	return b.String()
}

// serveSocket upgrades a Socket Mode connection: hello first, pings every
// 50 ms, and acks read into the connection's channel.
func (f *fakeSlack) serveSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		f.t.Logf("fake: websocket upgrade of %s %s failed: %v", r.Method, r.URL, err)
		return
	}
	c := &fakeConn{ws: ws, acks: make(chan string, 64), done: make(chan struct{})}
	if err := c.write(map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "fake-1", "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": "A1"}}); err != nil {
		return
	}
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				if err := ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)); err != nil {
					return
				}
			}
		}
	}()
	f.conns <- c
	defer close(c.done)
	defer ws.Close()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(data, &ack) == nil && ack.EnvelopeID != "" {
			select {
			case c.acks <- ack.EnvelopeID:
			default:
			}
		}
	}
}

func (c *fakeConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteJSON(v)
}

// conn waits for the next Socket Mode connection.
func (f *fakeSlack) conn() *fakeConn {
	f.t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(10 * time.Second):
		f.t.Fatal("no socket mode connection")
		return nil
	}
}

// envelope sends one Socket Mode request and waits for its ack.
func (c *fakeConn) envelope(t testing.TB, id, typ string, payload any, retry int) {
	t.Helper()
	if err := c.write(map[string]any{"envelope_id": id, "type": typ, "payload": payload,
		"accepts_response_payload": typ != "events_api", "retry_attempt": retry, "retry_reason": map[bool]string{true: "timeout"}[retry > 0]}); err != nil {
		t.Fatalf("send envelope: %v", err)
	}
	select {
	case got := <-c.acks:
		if got != id {
			t.Fatalf("ack for %q, want %q", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no ack for envelope %s", id)
	}
}

// button is one button found in posted blocks.
type button struct {
	ActionID, BlockID, Value, Label string
	Ref                             actionRef
}

// blocksOf decodes the blocks form field of a call.
func blocksOf(t testing.TB, c apiCall) []map[string]any {
	t.Helper()
	raw := c.Form.Get("blocks")
	if raw == "" {
		return nil
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		t.Fatalf("blocks of %s are not JSON: %v\n%s", c.Method, err, raw)
	}
	return blocks
}

// buttonsOf lists the buttons of a call's blocks.
func buttonsOf(t testing.TB, c apiCall) []button {
	t.Helper()
	var out []button
	for _, b := range blocksOf(t, c) {
		if b["type"] != "actions" {
			continue
		}
		els, _ := b["elements"].([]any)
		for _, e := range els {
			m, _ := e.(map[string]any)
			txt, _ := m["text"].(map[string]any)
			bt := button{ActionID: str(m["action_id"]), BlockID: str(b["block_id"]), Value: str(m["value"]), Label: str(txt["text"])}
			ref, err := parseActionValue(bt.Value)
			if err != nil {
				t.Fatalf("button %q has an unreadable value %q: %v", bt.Label, bt.Value, err)
			}
			bt.Ref = ref
			out = append(out, bt)
		}
	}
	return out
}

// textOf concatenates the text of a call's section and context blocks.
func textOf(t testing.TB, c apiCall) string {
	t.Helper()
	var parts []string
	for _, b := range blocksOf(t, c) {
		if txt, ok := b["text"].(map[string]any); ok {
			parts = append(parts, str(txt["text"]))
		}
		if els, ok := b["elements"].([]any); ok && b["type"] == "context" {
			for _, e := range els {
				m, _ := e.(map[string]any)
				parts = append(parts, str(m["text"]))
			}
		}
	}
	return strings.Join(parts, "\n")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Payload builders, shaped like Slack's.

func slashPayload(user, channel, text, trigger, responseURL string) map[string]string {
	return map[string]string{"token": "legacy", "team_id": "T1", "team_domain": "fake", "channel_id": channel,
		"channel_name": "general", "user_id": user, "user_name": "person-" + user, "command": "/troubleshoot",
		"text": text, "api_app_id": "A1", "response_url": responseURL, "trigger_id": trigger}
}

func eventPayload(eventID string, ev map[string]any) map[string]any {
	return map[string]any{"token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": ev, "type": "event_callback",
		"event_id": eventID, "event_time": time.Now().Unix(),
		"authorizations": []any{map[string]any{"team_id": "T1", "user_id": "UBOT", "is_bot": true}}}
}

func messageEvent(user, channel, thread, ts, text string) map[string]any {
	ev := map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts,
		"channel_type": "channel"}
	if strings.HasPrefix(channel, "D") {
		ev["channel_type"] = "im"
	}
	if thread != "" {
		ev["thread_ts"] = thread
	}
	return ev
}

// clickPayload is a block_actions payload for a click by user on b, a
// button of the message posted by call.
func clickPayload(t testing.TB, call apiCall, b button, user, trigger string) map[string]any {
	t.Helper()
	var blocks []any
	_ = json.Unmarshal([]byte(call.Form.Get("blocks")), &blocks)
	channel := call.Form.Get("channel")
	container := map[string]any{"type": "message", "message_ts": call.TS, "channel_id": channel, "is_ephemeral": false}
	if th := call.Form.Get("thread_ts"); th != "" {
		container["thread_ts"] = th
	}
	msg := map[string]any{"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": call.TS, "text": call.Form.Get("text"), "blocks": blocks}
	if th := call.Form.Get("thread_ts"); th != "" {
		msg["thread_ts"] = th
	}
	return map[string]any{
		"type": "block_actions", "token": "legacy", "api_app_id": "A1", "trigger_id": trigger,
		"team": map[string]any{"id": "T1", "domain": "fake"}, "user": map[string]any{"id": user, "username": "person-" + user, "team_id": "T1"},
		"channel": map[string]any{"id": channel, "name": "general"}, "container": container, "message": msg,
		"response_url": "http://127.0.0.1:1/unused",
		"actions": []any{map[string]any{"type": "button", "action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value,
			"text": map[string]any{"type": "plain_text", "text": b.Label, "emoji": true}, "action_ts": strconv.FormatInt(time.Now().UnixNano(), 10)}},
	}
}

// ctxFor is a test-bounded context.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// transport delivers Slack requests to the adapter the way one mode does.
type transport interface {
	slash(t testing.TB, p map[string]string)
	// event delivers an Events API callback; retry > 0 marks a redelivery.
	event(t testing.TB, p map[string]any, retry int)
	click(t testing.TB, p map[string]any)
}

// socketTransport sends Socket Mode envelopes over the fake's connection.
type socketTransport struct {
	f    *fakeSlack
	conn atomic.Pointer[fakeConn]
	seq  atomic.Int64
}

func (s *socketTransport) c() *fakeConn { return s.conn.Load() }

func (s *socketTransport) slash(t testing.TB, p map[string]string) {
	s.c().envelope(t, fmt.Sprintf("env-slash-%d", s.seq.Add(1)), "slash_commands", p, 0)
}

func (s *socketTransport) event(t testing.TB, p map[string]any, retry int) {
	// A redelivery keeps its envelope id.
	s.c().envelope(t, "env-"+p["event_id"].(string), "events_api", p, retry)
}

func (s *socketTransport) click(t testing.TB, p map[string]any) {
	s.c().envelope(t, fmt.Sprintf("env-click-%d", s.seq.Add(1)), "interactive", p, 0)
}

// httpTransport posts signed requests to the adapter's HTTP handler.
type httpTransport struct {
	srv    *httptest.Server
	secret string
}

func (h *httpTransport) slash(t testing.TB, p map[string]string) {
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	h.mustPost(t, "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
}

func (h *httpTransport) event(t testing.TB, p map[string]any, retry int) {
	body, _ := json.Marshal(p)
	hdr := http.Header{}
	if retry > 0 {
		hdr.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		hdr.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	h.mustPost(t, "/slack/events", "application/json", body, hdr)
}

func (h *httpTransport) click(t testing.TB, p map[string]any) {
	js, _ := json.Marshal(p)
	h.mustPost(t, "/slack/interactions", "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(js)}}.Encode()), nil)
}

func (h *httpTransport) mustPost(t testing.TB, path, ctype string, body []byte, hdr http.Header) {
	t.Helper()
	start := time.Now()
	code, resp := signedPost(t, h.srv.URL+path, ctype, body, h.secret, time.Now(), hdr)
	if code != http.StatusOK {
		t.Fatalf("POST %s = %d %s", path, code, resp)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("POST %s took %v; Slack needs an ack within 3 s", path, d)
	}
}

// sign returns Slack's v0 signature headers for body.
func sign(body []byte, secret string, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

func signedPost(t testing.TB, u, ctype string, body []byte, secret string, at time.Time, extra http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = sign(body, secret, at)
	req.Header.Set("Content-Type", ctype)
	for k, vs := range extra {
		req.Header[k] = vs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// env is one running adapter over the fake and an engine.
type env struct {
	t      testing.TB
	mode   string
	fake   *fakeSlack
	store  *bot.MemoryStore
	engine *bot.Engine
	ad     *Adapter
	tr     transport
	cancel context.CancelFunc
	done   chan error
	seq    int
	// visited lists the steps converse was asked, in order.
	visited []string
}

// stepOf is the step the buttons of a post answer, "" without buttons.
func stepOf(t testing.TB, c apiCall) string {
	t.Helper()
	if b := buttonsOf(t, c); len(b) > 0 {
		return b[0].Ref.Step
	}
	return ""
}

// wantStep fails the test unless post c asks step want; what says when,
// in the failure message.
func wantStep(t testing.TB, c apiCall, want, what string) {
	t.Helper()
	if got := stepOf(t, c); got != want {
		t.Errorf("%s: step %q, %q", what, got, textOf(t, c))
	}
}

// outcome is the kind of the last recorded outcome of U1's conversation
// in thread of C1, "" when none.
func (e *env) outcome(thread string) string {
	e.t.Helper()
	key := bot.Address{Platform: Platform, Workspace: "T1", Channel: "C1", Thread: thread, User: "U1"}.Key()
	kind := ""
	err := e.store.Outcomes(ctxFor(e.t, 5*time.Second), time.Time{}, func(o bot.Outcome) error {
		if o.Key == key {
			kind = o.Kind
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return kind
}

var guides struct {
	runner atomic.Pointer[flows.Runner]
}

func testRunner(t testing.TB) *flows.Runner {
	if r := guides.runner.Load(); r != nil {
		return r
	}
	// A frozen copy of the WhatsApp guide (version 1): these tests are
	// about the adapter, so guide edits must not churn them. The shipped
	// guides run through the adapter in menu_test.go.
	set, err := flows.LoadSet([]string{"testdata/whatsapp-icloud-v1.yaml"}, nil, true)
	if err != nil {
		t.Fatalf("load guides: %v", err)
	}
	r, err := flows.NewRunner(set.Guides, "")
	if err != nil {
		t.Fatal(err)
	}
	guides.runner.Store(r)
	return r
}

func testLogger() *slog.Logger {
	if os.Getenv("SLACK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newEnv starts an adapter in mode over fake and store (fresh ones when
// nil) and waits until it is ready for deliveries.
func newEnv(t testing.TB, mode string, fake *fakeSlack, store *bot.MemoryStore) *env {
	t.Helper()
	return newEnvWrapped(t, mode, fake, store, nil)
}

// plainHandler hides everything but Handle, like a wrapper that does not
// forward Current.
type plainHandler struct{ next bot.Handler }

func (p plainHandler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	return p.next.Handle(ctx, m)
}

// unwrapHandler is a wrapper that exposes what it wraps.
type unwrapHandler struct{ plainHandler }

func (u unwrapHandler) Unwrap() bot.Handler { return u.next }

// hideCurrent wraps h in a plainHandler: the adapter finds no Resumer.
func hideCurrent(h bot.Handler) bot.Handler { return plainHandler{h} }

// withAndWithoutResumer are the wraps of a test run once with the engine
// itself and once behind a wrapper that hides Current.
var withAndWithoutResumer = []struct {
	name string
	wrap func(bot.Handler) bot.Handler
}{{"engine", nil}, {"without Resumer", hideCurrent}}

// newEnvWrapped is newEnv with the engine wrapped by wrap (when not nil)
// before the adapter sees it.
func newEnvWrapped(t testing.TB, mode string, fake *fakeSlack, store *bot.MemoryStore, wrap func(bot.Handler) bot.Handler) *env {
	t.Helper()
	return newEnvFull(t, mode, fake, store, wrap, nil)
}

// newEnvFull is newEnvWrapped with tune applied to the adapter before it
// runs.
func newEnvFull(t testing.TB, mode string, fake *fakeSlack, store *bot.MemoryStore, wrap func(bot.Handler) bot.Handler, tune func(*Adapter)) *env {
	t.Helper()
	return newEnvOpts(t, mode, envOpts{fake: fake, store: store, wrap: wrap, tune: tune})
}

// envOpts are newEnvOpts's knobs; zero values take newEnv's defaults.
type envOpts struct {
	fake  *fakeSlack
	store *bot.MemoryStore
	wrap  func(bot.Handler) bot.Handler
	tune  func(*Adapter)
	// cfg edits the adapter's Config before New.
	cfg func(*Config)
	// flow replaces the real guides.
	flow bot.Flow
	// log replaces testLogger().
	log *slog.Logger
	// handoff registers the adapter as the engine's handoff poster and
	// sender (needs cfg to set SupportChannel).
	handoff bool
}

// newEnvOpts is newEnv with every knob.
func newEnvOpts(t testing.TB, mode string, o envOpts) *env {
	t.Helper()
	fake, store, wrap, tune := o.fake, o.store, o.wrap, o.tune
	if fake == nil {
		fake = newFakeSlack(t)
	}
	if store == nil {
		store = bot.NewMemoryStore()
	}
	cfg := Config{Mode: mode, BotToken: "xoxb-test", APIURL: fake.APIURL()}
	if mode == ModeSocket {
		cfg.AppToken = "xapp-test"
	} else {
		cfg.SigningSecret = testSecret
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	log := o.log
	if log == nil {
		log = testLogger()
	}
	ad, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ad.pace = newPacer(0, 1000) // no pacing in conversation tests; pacing has its own test
	if tune != nil {
		tune(ad)
	}
	e := &env{t: t, mode: mode, fake: fake, store: store, ad: ad, done: make(chan error, 1)}
	var flow bot.Flow = o.flow
	if flow == nil {
		flow = testRunner(t)
	}
	e.engine = bot.NewEngine(store, flow, bot.EngineConfig{}, log)
	if o.handoff {
		e.engine.SetHandoffPoster(Platform, ad)
		e.engine.SetSender(Platform, ad)
	}
	var h bot.Handler = e.engine
	if wrap != nil {
		h = wrap(e.engine)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.cancel = cancel
	go func() { e.done <- ad.Run(ctx, h) }()
	t.Cleanup(e.stop)
	if mode == ModeSocket {
		st := &socketTransport{f: fake}
		st.conn.Store(fake.conn())
		e.tr = st
	} else {
		srv := httptest.NewUnstartedServer(ad.HTTPHandler(h))
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener = l
		srv.Start()
		t.Cleanup(srv.Close)
		e.tr = &httpTransport{srv: srv, secret: testSecret}
		deadline := time.Now().Add(5 * time.Second)
		for !ad.running.Load() {
			if time.Now().After(deadline) {
				t.Fatal("workers did not start")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return e
}

// stop cancels Run and checks that it returns nil promptly.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Error("Run did not return after cancel")
	}
}

func (e *env) id(prefix string) string {
	e.seq++
	return fmt.Sprintf("%s-%s-%d-%d", prefix, e.mode, e.seq, time.Now().UnixNano())
}

func (e *env) ts() string {
	e.seq++
	return fmt.Sprintf("1700001000.%06d", e.seq)
}

func isPost(channel, thread string) func(apiCall) bool {
	return func(c apiCall) bool {
		return c.Method == "chat.postMessage" && c.Status == 200 && c.Form.Get("channel") == channel && c.Form.Get("thread_ts") == thread
	}
}

func isEphemeral(channel, user string) func(apiCall) bool {
	return func(c apiCall) bool {
		return c.Method == "chat.postEphemeral" && c.Status == 200 && c.Form.Get("channel") == channel && c.Form.Get("user") == user
	}
}

// isMethod matches every call of method, whatever its answer.
func isMethod(method string) func(apiCall) bool {
	return func(c apiCall) bool { return c.Method == method }
}

// start runs the slash command and returns the root post and the first
// question (in the thread).
func (e *env) start(user, channel, text string) (root, question apiCall, next int) {
	e.t.Helper()
	from := e.fake.ncalls()
	e.tr.slash(e.t, slashPayload(user, channel, text, e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
	root, i := e.fake.waitFor(from, "the thread's root post", isPost(channel, ""))
	question, j := e.fake.waitFor(i+1, "the first question", isPost(channel, root.TS))
	return root, question, j + 1
}

// answer answers question q per act ("click:<choice>" or typed text) as
// user, checks the click's chat.update, and returns the next post in the
// thread.
func (e *env) answer(q apiCall, act, user string, from int) (apiCall, int) {
	e.t.Helper()
	channel, thread := q.Form.Get("channel"), q.Form.Get("thread_ts")
	if choice, ok := strings.CutPrefix(act, "click:"); ok {
		var b *button
		for _, bt := range buttonsOf(e.t, q) {
			if bt.Ref.Choice == choice {
				b = &bt
				break
			}
		}
		if b == nil {
			e.t.Fatalf("no button %q in %s", choice, textOf(e.t, q))
		}
		e.tr.click(e.t, clickPayload(e.t, q, *b, user, e.id("trigger")))
		upd, _ := e.fake.waitFor(from, "chat.update of the question", func(c apiCall) bool {
			return c.Method == "chat.update" && c.Form.Get("ts") == q.TS
		})
		if n := len(buttonsOf(e.t, upd)); n != 0 {
			e.t.Errorf("updated question still has %d buttons", n)
		}
		if got, want := textOf(e.t, upd), "You chose: *"+b.Label+"*"; !strings.Contains(got, want) {
			e.t.Errorf("updated question = %q, want it to contain %q", got, want)
		}
	} else {
		e.tr.event(e.t, eventPayload(e.id("Ev"), messageEvent(user, channel, thread, e.ts(), act)), 0)
	}
	next, i := e.fake.waitFor(from, "the next post in the thread", isPost(channel, thread))
	return next, i + 1
}

// converse runs a whole conversation in channel C1 as U1, answering each
// question per script (step → action) until a post without buttons, which
// it returns with the thread ts.
func (e *env) converse(script map[string]string) (final apiCall, thread string) {
	e.t.Helper()
	root, q, from := e.start("U1", "C1", "my whatsapp backup to icloud keeps failing")
	if got := root.Form.Get("text"); !strings.Contains(got, "asked for help") || !strings.Contains(got, "my whatsapp backup") {
		e.t.Errorf("root post text = %q", got)
	}
	thread = root.TS
	for turn := 0; turn < 40; turn++ {
		btns := buttonsOf(e.t, q)
		if len(btns) == 0 {
			return q, thread
		}
		step := btns[0].Ref.Step
		e.visited = append(e.visited, step)
		for _, b := range btns {
			if b.Ref.Thread != thread || b.Ref.User != "U1" || b.Ref.Step != step || !strings.HasPrefix(b.ActionID, "tb1:") {
				e.t.Fatalf("button %+v does not carry the conversation (thread %s, user U1, step %s)", b, thread, step)
			}
		}
		act, ok := script[step]
		if !ok {
			e.t.Fatalf("script has no answer for step %q: %s", step, textOf(e.t, q))
		}
		q, from = e.answer(q, act, "U1", from)
	}
	e.t.Fatal("conversation did not end in 40 turns")
	return
}

var modes = []string{ModeSocket, ModeHTTP}

var resolvedScript = map[string]string{
	"icloud_access":    "click:on",
	"backup_size":      "3 GB",
	"free_space":       "50 GB",
	"ios_version":      "iOS 17.4.1",
	"whatsapp_version": "2.24.21.77",
	"fix_update":       "click:fixed",
}

var escalationScript = map[string]string{
	"icloud_access":     "click:on",
	"backup_size":       "3 GB",
	"free_space":        "5 GB",
	"fix_storage":       "click:not_fixed",
	"ios_version":       "26.1",
	"whatsapp_version":  "25.33.75",
	"fix_update":        "click:not_fixed",
	"fix_manual":        "click:not_fixed",
	"apple_status":      "click:green",
	"fix_restart":       "click:not_fixed",
	"videos":            "click:off",
	"fix_videos":        "click:not_fixed",
	"fix_delete_backup": "click:not_fixed",
}

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

// failingCloser is a handler whose CloseHandoff fails.
type failingCloser struct{ bot.Handler }

func (failingCloser) CloseHandoff(context.Context, bot.Address, time.Time) ([]bot.Reply, bool, error) {
	return nil, false, context.DeadlineExceeded
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

func testAdapter(t testing.TB) *Adapter {
	ad, err := New(Config{BotToken: "xoxb-x", AppToken: "xapp-x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ad.botUser.Store("UBOT")
	ad.botID.Store("BBOT")
	return ad
}

func parseEventJSON(t testing.TB, p map[string]any) slackevents.EventsAPIEvent {
	t.Helper()
	b, _ := json.Marshal(p)
	ev, err := slackevents.ParseEvent(b, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	return ev
}

const (
	supportChannel = "CSUPPORT"
	supportGroup   = "SSTAFF"
)

// withSupport configures handoffs to the fake's support channel.
func withSupport(group string) func(*Config) {
	return func(c *Config) {
		c.SupportChannel = supportChannel
		c.SupportGroup = group
	}
}

func personAddr(channel, thread, user string) bot.Address {
	return bot.Address{Platform: Platform, Workspace: "T1", Channel: channel, Thread: thread, User: user}
}

// closeButton is the Close button of the handoff post for to.
func closeButton(to bot.Address) button {
	return button{ActionID: closeActionID, BlockID: handoffActionsBlock, Value: closeRef(to), Label: "Close"}
}

// allTexts returns every text of a call: the fallback text, and each
// "text" string anywhere in its blocks (sections, fields, context,
// buttons, confirm dialogs).
func allTexts(t testing.TB, c apiCall) []string {
	t.Helper()
	out := []string{c.Form.Get("text")}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if s, ok := vv.(string); ok && k == "text" {
					out = append(out, s)
				} else {
					walk(vv)
				}
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	if raw := c.Form.Get("blocks"); raw != "" {
		var blocks any
		if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
			t.Fatalf("blocks of %s are not JSON: %v", c.Method, err)
		}
		walk(blocks)
	}
	return out
}

// massPing reports the first mention or link token in a call's texts that
// only the adapter itself may write, "" when none: anything that could
// notify people or disguise a link. allowed lists tokens the adapter wrote
// on purpose (the support group, the person shown as who asked).
func massPing(t testing.TB, c apiCall, allowed ...string) string {
	t.Helper()
	for _, s := range allTexts(t, c) {
		for _, a := range allowed {
			s = strings.ReplaceAll(s, a, "")
		}
		for _, tok := range []string{"<!channel", "<!here", "<!everyone", "<!subteam", "<@", "<http", "<mailto", "<#"} {
			if strings.Contains(s, tok) {
				return tok
			}
		}
	}
	return ""
}

// notVerbatim reports a mrkdwn text object of c without verbatim set.
func notVerbatim(t testing.TB, c apiCall) bool {
	t.Helper()
	raw := c.Form.Get("blocks")
	return raw != "" && strings.Contains(raw, `"type":"mrkdwn"`) && strings.Count(raw, `"type":"mrkdwn"`) != strings.Count(raw, `"verbatim":true`)
}

// checkLimits fails when a post breaks Block Kit's limits.
func checkLimits(t testing.TB, c apiCall) {
	t.Helper()
	blocks := blocksOf(t, c)
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	for _, b := range blocks {
		if txt, ok := b["text"].(map[string]any); ok && utf8.RuneCountInString(str(txt["text"])) > maxSectionText {
			t.Errorf("a %s text of %d characters", b["type"], utf8.RuneCountInString(str(txt["text"])))
		}
		if fields, ok := b["fields"].([]any); ok {
			if len(fields) > 10 {
				t.Errorf("%d fields", len(fields))
			}
			for _, f := range fields {
				if n := utf8.RuneCountInString(str(f.(map[string]any)["text"])); n > 2000 {
					t.Errorf("a field of %d characters", n)
				}
			}
		}
	}
	if n := utf8.RuneCountInString(c.Form.Get("text")); n > maxFallback {
		t.Errorf("fallback text of %d characters", n)
	}
}

// parseCase is a row of a parser's table test: in parses to want, or
// fails with an error that says wantErr.
type parseCase[T comparable] struct {
	in      string
	want    T
	wantErr string
}

// checkParse runs the table test of parse (called name in messages):
// every value that parses encodes back, through encode (encName), to
// itself.
func checkParse[T comparable](t *testing.T, name string, parse func(string) (T, error), encName string, encode func(T) string, tests []parseCase[T]) {
	t.Helper()
	for _, tc := range tests {
		got, err := parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s(%.40q) error = %v, want %q", name, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s(%q) = %+v, %v; want %+v", name, tc.in, got, err, tc.want)
		}
		if back := encode(got); back != tc.in {
			t.Errorf("%s = %q, want %q", encName, back, tc.in)
		}
	}
}
