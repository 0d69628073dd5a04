package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
	f := &fakeSlack{t: t, limited: map[string]int{}, fail: map[string]string{}, changed: make(chan struct{}), conns: make(chan *fakeConn, 8), nextTS: 100}
	// slack-go sends an Origin header, as browsers do; Slack accepts it.
	f.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
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
	// Form holds the query too: GET methods (chat.getPermalink) send
	// their arguments there.
	call := apiCall{Method: method, Form: r.Form, At: time.Now(), Status: 200, Body: string(body), Header: r.Header.Clone()}
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
					"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": c.Form.Get("text"), "ts": c.TS}}}
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
