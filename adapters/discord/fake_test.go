package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"troubleshooter/bot"
)

// fakeDiscord is an in-process Discord: the REST API paths the adapter
// uses and the gateway websocket, speaking the real JSON protocol on
// 127.0.0.1 so that discordgo runs unmodified against it. It records every
// REST call, keeps the messages the bot sent (so tests click on the real
// components), and injects gateway dispatches.
type fakeDiscord struct {
	t     testing.TB
	srv   *httptest.Server
	appID string
	botID string
	token string // the bot token expected in Authorization ("Bot …")

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every recorded change
	calls        []fakeCall
	nextID       int64
	seq          int
	conns        []*fakeConn
	identifies   []map[string]any
	messages     map[string]map[string]any // by id
	order        []string                  // message ids in creation order
	channels     map[string]map[string]any // threads and DMs created, by id
	interactions map[string]fakeInteraction
	limits       []*fakeLimit
	// delays hold matching requests before answering them, as Discord's
	// per-route pacing does after a burst.
	delays []fakeDelay
	// events are gateway dispatches caused by REST calls (the bot's own
	// messages, threads it created), sent after the call is answered.
	events []fakeEvent
}

type fakeEvent struct {
	Type string
	D    any
}

// fakeCall is one recorded REST request.
type fakeCall struct {
	Method, Path string
	Body         []byte
	Status       int
	At           time.Time
}

// JSON decodes the call's body.
func (c fakeCall) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Body, &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v: %s", c.Method, c.Path, err, c.Body)
	}
	return m
}

type fakeInteraction struct {
	ID, Token, ChannelID, GuildID, MessageID string
	Original                                 string // message id of @original, once known
	// HTTP interactions get their initial response over HTTP, which the
	// fake does not see: it is taken as given (a deferred message).
	HTTP bool
	// Created is when the interaction was made: Discord refuses initial
	// responses after 3 seconds.
	Created time.Time
}

// fakeLimit makes the next Count requests matching Method and a path
// prefix fail with 429 and retry_after.
type fakeLimit struct {
	Method, Prefix string
	Count          int
	RetryAfter     float64
	// Status, when set, fails with this status instead of a 429.
	Status int
	// Global makes the 429 a global one (the bot's limit across routes).
	Global bool
}

type fakeConn struct {
	ws *websocket.Conn
	mu sync.Mutex // gorilla allows one writer at a time
}

func (c *fakeConn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

const fakeToken = "fake-bot-token"

func newFakeDiscord(t testing.TB) *fakeDiscord {
	f := &fakeDiscord{
		t:            t,
		appID:        "900000000000000001",
		botID:        "900000000000000002",
		token:        "Bot " + fakeToken,
		changed:      make(chan struct{}),
		nextID:       1100000000000000000,
		messages:     map[string]map[string]any{},
		channels:     map[string]map[string]any{},
		interactions: map[string]fakeInteraction{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve)) // binds 127.0.0.1
	t.Cleanup(f.close)
	return f
}

func (f *fakeDiscord) close() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	f.srv.Close()
}

// id returns a fresh snowflake.
func (f *fakeDiscord) id() string {
	f.nextID++
	return strconv.FormatInt(f.nextID, 10)
}

// notifyLocked wakes waiters; f.mu must be held.
func (f *fakeDiscord) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// waitFor blocks until cond (called with f.mu held) is true, failing the
// test after a few seconds.
func (f *fakeDiscord) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		ok := cond()
		ch := f.changed
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			f.t.Fatalf("timed out waiting for %s; REST calls so far:\n%s", what, f.dump())
		}
	}
}

func (f *fakeDiscord) dump() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, c := range f.calls {
		fmt.Fprintf(&b, "  %d %s %s %s\n", c.Status, c.Method, c.Path, trimText(string(c.Body), 400))
	}
	return b.String()
}

// Calls returns the REST calls recorded so far.
func (f *fakeDiscord) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// waitCall waits for the n-th (from 0) call after mark matching method
// and path (a "*" segment matches any) and returns it.
func (f *fakeDiscord) waitCall(mark int, method, pattern string) fakeCall {
	f.t.Helper()
	var got fakeCall
	f.waitFor(method+" "+pattern, func() bool {
		for _, c := range f.calls[min(mark, len(f.calls)):] {
			if c.Method == method && pathMatch(pattern, c.Path) {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// Mark is the number of calls so far, for waitCall and callsSince.
func (f *fakeDiscord) Mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeDiscord) callsSince(mark int, method, pattern string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls[min(mark, len(f.calls)):] {
		if c.Method == method && pathMatch(pattern, c.Path) {
			out = append(out, c)
		}
	}
	return out
}

func pathMatch(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// fakeDelay holds requests matching Method and a path prefix (after
// /api/v9) for D before answering.
type fakeDelay struct {
	Method, Prefix string
	D              time.Duration
}

// delay makes matching requests wait d before they are answered.
func (f *fakeDiscord) delay(method, prefix string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delays = append(f.delays, fakeDelay{method, prefix, d})
}

// limit injects 429s.
func (f *fakeDiscord) limit(l fakeLimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = append(f.limits, &l)
}

func (f *fakeDiscord) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/gw") {
		f.serveGateway(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	f.mu.Lock()
	var wait time.Duration
	for _, d := range f.delays {
		if d.Method == r.Method && strings.HasPrefix(strings.TrimPrefix(r.URL.Path, "/api/v9"), d.Prefix) {
			wait = max(wait, d.D)
		}
	}
	f.mu.Unlock()
	time.Sleep(wait)
	f.mu.Lock()
	status, resp, hdr := f.rest(r, body)
	var out []byte
	if resp != nil {
		out, _ = json.Marshal(resp) // under the lock: resp may be a stored message
	}
	f.calls = append(f.calls, fakeCall{Method: r.Method, Path: r.URL.Path, Body: body, Status: status, At: time.Now()})
	f.notifyLocked()
	events := f.events
	f.events = nil
	f.mu.Unlock()
	defer func() {
		// Like Discord, tell the bot's gateway about what it just did.
		for _, e := range events {
			f.broadcast(e.Type, e.D)
		}
	}()
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func jsonError(code int, msg string) map[string]any {
	return map[string]any{"message": msg, "code": code}
}

// rest answers one REST request: status, JSON body (nil for none),
// headers. f.mu is held.
func (f *fakeDiscord) rest(r *http.Request, body []byte) (int, any, map[string]string) {
	p, ok := strings.CutPrefix(r.URL.Path, "/api/v9/")
	if !ok {
		// v10 too, for clients other than discordgo (discord.js).
		if p, ok = strings.CutPrefix(r.URL.Path, "/api/v10/"); !ok {
			return 404, jsonError(0, "404: Not Found"), nil
		}
	}
	p = "/" + p
	for _, l := range f.limits {
		if l.Count > 0 && l.Method == r.Method && strings.HasPrefix(p, l.Prefix) {
			l.Count--
			if l.Status != 0 {
				return l.Status, jsonError(50001, "Missing Access"), nil
			}
			hdr := map[string]string{"Retry-After": strconv.FormatFloat(l.RetryAfter, 'f', -1, 64), "X-RateLimit-Scope": "user"}
			if l.Global {
				hdr["X-RateLimit-Scope"], hdr["X-RateLimit-Global"] = "global", "true"
			}
			return 429, map[string]any{"message": "You are being rate limited.", "retry_after": l.RetryAfter, "global": l.Global}, hdr
		}
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	// Interaction callbacks and webhooks are authorised by their token.
	if !(seg[0] == "interactions" || seg[0] == "webhooks" || p == "/gateway") && r.Header.Get("Authorization") != f.token {
		return 401, jsonError(0, "401: Unauthorized"), nil
	}
	var in map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			var arr []any
			if json.Unmarshal(body, &arr) != nil {
				return 400, jsonError(50109, "The request body contains invalid JSON."), nil
			}
		}
	}
	isNew := r.Method == "POST" && (len(seg) == 3 && (seg[0] == "webhooks" || seg[0] == "channels" && seg[2] == "messages"))
	isEdit := r.Method == "PATCH" && (seg[0] == "webhooks" || seg[0] == "channels") && len(seg) >= 4
	if isNew || isEdit {
		if err := validMessage(in, isNew); err != nil {
			return 400, jsonError(50035, "Invalid Form Body: "+err.Error()), nil
		}
	}
	switch {
	case r.Method == "GET" && (p == "/gateway" || p == "/gateway/bot"):
		return 200, map[string]any{"url": "ws://" + f.srv.Listener.Addr().String() + "/gw", "shards": 1,
			"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}, nil
	case r.Method == "PUT" && len(seg) >= 3 && seg[0] == "applications" && seg[len(seg)-1] == "commands":
		var cmds []map[string]any
		if err := json.Unmarshal(body, &cmds); err != nil {
			return 400, jsonError(50035, "Invalid Form Body"), nil
		}
		for _, c := range cmds {
			c["id"], c["application_id"], c["version"] = f.id(), f.appID, f.id()
		}
		return 200, cmds, nil
	case r.Method == "POST" && len(seg) == 4 && seg[0] == "interactions" && seg[3] == "callback":
		return f.callback(seg[1], seg[2], in)
	case len(seg) == 5 && seg[0] == "webhooks" && seg[3] == "messages":
		ia, ok := f.byToken(seg[2])
		ia = f.httpOriginal(ia)
		if !ok || ia.Original == "" {
			return 404, jsonError(10008, "Unknown Message"), nil
		}
		id := seg[4]
		if id == "@original" {
			id = ia.Original
		}
		m, ok := f.messages[id]
		if !ok || m["channel_id"] != ia.ChannelID {
			return 404, jsonError(10008, "Unknown Message"), nil
		}
		if r.Method == "GET" {
			return 200, m, nil
		}
		if r.Method == "DELETE" {
			delete(f.messages, id)
			return 204, nil, nil
		}
		if r.Method != "PATCH" {
			return 405, jsonError(0, "405: Method Not Allowed"), nil
		}
		for _, k := range []string{"content", "components", "allowed_mentions", "embeds"} {
			if v, ok := in[k]; ok {
				m[k] = v
			}
		}
		return 200, m, nil
	case r.Method == "PATCH" && len(seg) == 4 && seg[0] == "channels" && seg[2] == "messages":
		m, ok := f.messages[seg[3]]
		if !ok || m["channel_id"] != seg[1] {
			return 404, jsonError(10008, "Unknown Message"), nil
		}
		if a, _ := m["author"].(map[string]any); a == nil || a["id"] != f.botID {
			return 403, jsonError(50005, "Cannot edit a message authored by another user"), nil
		}
		for _, k := range []string{"content", "components", "allowed_mentions", "embeds"} {
			if v, ok := in[k]; ok {
				m[k] = v
			}
		}
		return 200, m, nil
	case r.Method == "POST" && len(seg) == 3 && seg[0] == "webhooks":
		ia, ok := f.byToken(seg[2])
		ia = f.httpOriginal(ia)
		if !ok || ia.Original == "" {
			// Discord rejects followups before the initial response.
			return 404, jsonError(10015, "Unknown Webhook"), nil
		}
		return 200, f.newMessage(ia.ChannelID, in), nil
	case r.Method == "POST" && len(seg) == 3 && seg[0] == "channels" && seg[2] == "messages":
		return 200, f.newMessage(seg[1], in), nil
	case r.Method == "GET" && len(seg) == 4 && seg[0] == "channels" && seg[2] == "messages":
		m, ok := f.messages[seg[3]]
		if !ok || m["channel_id"] != seg[1] {
			return 404, jsonError(10008, "Unknown Message"), nil
		}
		return 200, m, nil
	case r.Method == "POST" && len(seg) == 5 && seg[0] == "channels" && seg[2] == "messages" && seg[4] == "threads":
		if _, ok := f.messages[seg[3]]; !ok {
			return 404, jsonError(10008, "Unknown Message"), nil
		}
		id := seg[3] // a thread started from a message has the message's id
		ch := map[string]any{"id": id, "type": 11, "parent_id": seg[1], "owner_id": f.botID, "name": in["name"],
			"guild_id": f.guildOf(seg[1]), "thread_metadata": map[string]any{"archived": false, "auto_archive_duration": in["auto_archive_duration"]}}
		f.channels[id] = ch
		f.events = append(f.events, fakeEvent{"THREAD_CREATE", cloneJSON(ch)})
		return 201, ch, nil
	case r.Method == "GET" && len(seg) == 2 && seg[0] == "channels":
		if ch, ok := f.channels[seg[1]]; ok {
			return 200, ch, nil
		}
		return 200, map[string]any{"id": seg[1], "type": 0, "guild_id": testGuild, "name": "support"}, nil
	case r.Method == "POST" && p == "/users/@me/channels":
		rid, _ := in["recipient_id"].(string)
		id := "77" + rid[2:]
		ch := map[string]any{"id": id, "type": 1, "recipients": []any{map[string]any{"id": rid, "username": "user" + rid[len(rid)-2:]}}}
		f.channels[id] = ch
		return 200, ch, nil
	}
	return 404, jsonError(0, "404: Not Found"), nil
}

func (f *fakeDiscord) guildOf(channel string) string {
	if ch, ok := f.channels[channel]; ok {
		g, _ := ch["guild_id"].(string)
		return g
	}
	return testGuild
}

// httpOriginal gives an HTTP interaction its original message: the
// component's message, or a new deferred one. f.mu is held.
func (f *fakeDiscord) httpOriginal(ia fakeInteraction) fakeInteraction {
	if !ia.HTTP || ia.Original != "" {
		return ia
	}
	if ia.MessageID != "" {
		ia.Original = ia.MessageID
	} else {
		ia.Original = f.newMessage(ia.ChannelID, map[string]any{"flags": 64})["id"].(string)
	}
	f.interactions[ia.ID] = ia
	return ia
}

func (f *fakeDiscord) byToken(token string) (fakeInteraction, bool) {
	for _, ia := range f.interactions {
		if ia.Token == token {
			return ia, true
		}
	}
	return fakeInteraction{}, false
}

// callback applies an interaction's initial response. f.mu is held.
func (f *fakeDiscord) callback(id, token string, in map[string]any) (int, any, map[string]string) {
	ia, ok := f.interactions[id]
	if !ok || ia.Token != token {
		return 404, jsonError(10062, "Unknown interaction"), nil
	}
	if ia.Original != "" {
		return 400, jsonError(40060, "Interaction has already been acknowledged."), nil
	}
	if time.Since(ia.Created) > 3*time.Second {
		return 404, jsonError(10062, "Unknown interaction"), nil
	}
	typ, _ := in["type"].(float64)
	data, _ := in["data"].(map[string]any)
	switch int(typ) {
	case 4, 5: // a new message (deferred: "thinking…")
		if int(typ) == 4 {
			if err := validMessage(data, true); err != nil {
				return 400, jsonError(50035, "Invalid Form Body: "+err.Error()), nil
			}
		}
		if data == nil {
			data = map[string]any{}
		}
		m := f.newMessage(ia.ChannelID, data)
		ia.Original = m["id"].(string)
	case 6, 7: // the component's message
		if ia.MessageID == "" {
			return 400, jsonError(50035, "Invalid Form Body: no message to update"), nil
		}
		ia.Original = ia.MessageID
		if int(typ) == 7 {
			if err := validMessage(data, false); err != nil {
				return 400, jsonError(50035, "Invalid Form Body: "+err.Error()), nil
			}
		}
		if int(typ) == 7 && data != nil {
			m := f.messages[ia.MessageID]
			for _, k := range []string{"content", "components"} {
				if v, ok := data[k]; ok {
					m[k] = v
				}
			}
		}
	case 9:
		if err := validModal(data); err != nil {
			return 400, jsonError(50035, "Invalid Form Body: "+err.Error()), nil
		}
		ia.Original = "modal"
	default:
		return 400, jsonError(50035, fmt.Sprintf("Invalid Form Body: type %v", in["type"])), nil
	}
	f.interactions[id] = ia
	return 204, nil, nil
}

// newMessage stores a message the bot sent. f.mu is held.
func (f *fakeDiscord) newMessage(channel string, in map[string]any) map[string]any {
	id := f.id()
	m := map[string]any{
		"id": id, "channel_id": channel, "type": 0, "timestamp": time.Now().UTC().Format(time.RFC3339),
		"author":  map[string]any{"id": f.botID, "username": "troubleshooter", "bot": true},
		"content": in["content"], "components": in["components"], "flags": in["flags"],
		"allowed_mentions": in["allowed_mentions"], "embeds": in["embeds"],
	}
	if m["embeds"] == nil {
		m["embeds"] = []any{}
	}
	if m["content"] == nil {
		m["content"] = ""
	}
	if m["components"] == nil {
		m["components"] = []any{}
	}
	if m["flags"] == nil {
		m["flags"] = 0
	}
	if g := f.guildOf(channel); !strings.HasPrefix(channel, "77") {
		m["guild_id"] = g
	}
	f.messages[id] = m
	f.order = append(f.order, id)
	if num, _ := m["flags"].(float64); int(num)&64 == 0 {
		f.events = append(f.events, fakeEvent{"MESSAGE_CREATE", cloneJSON(m)})
	}
	return m
}

// lastWithComponents waits for, and returns a copy of, the newest message
// in channel created at or after mark whose components include a custom
// id starting with prefix.
func (f *fakeDiscord) lastWithComponents(channel, prefix string) map[string]any {
	f.t.Helper()
	var got map[string]any
	f.waitFor("a message in "+channel+" with a component "+prefix, func() bool {
		for k := len(f.order) - 1; k >= 0; k-- {
			m := f.messages[f.order[k]]
			if m["channel_id"] == channel && len(customIDs(m["components"], prefix)) > 0 {
				got = cloneJSON(m)
				return true
			}
		}
		return false
	})
	return got
}

func cloneJSON(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// customIDs lists the custom ids in a components JSON value that start
// with prefix.
func customIDs(v any, prefix string) []string {
	var out []string
	eachComponent(v, func(c map[string]any) {
		if id, ok := c["custom_id"].(string); ok && strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	})
	return out
}

// eachComponent calls fn on every component in a components JSON value,
// each before the components it contains.
func eachComponent(v any, fn func(c map[string]any)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			eachComponent(e, fn)
		}
	case map[string]any:
		fn(x)
		eachComponent(x["components"], fn)
	}
}

// --- gateway ---

var upgrader = websocket.Upgrader{}

func (f *fakeDiscord) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{ws: ws}
	defer ws.Close()
	if c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 41250}}) != nil {
		return
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(60 * time.Second))
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := ws.ReadJSON(&p); err != nil {
			f.mu.Lock()
			for k, x := range f.conns {
				if x == c {
					f.conns = append(f.conns[:k], f.conns[k+1:]...)
					break
				}
			}
			f.notifyLocked()
			f.mu.Unlock()
			return
		}
		switch p.Op {
		case 1:
			_ = c.write(map[string]any{"op": 11})
		case 2:
			var d map[string]any
			_ = json.Unmarshal(p.D, &d)
			// Discord takes the identify token with or without "Bot "
			// (discordgo sends it with, discord.js without).
			if tok, _ := d["token"].(string); strings.TrimPrefix(tok, "Bot ") != strings.TrimPrefix(f.token, "Bot ") {
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
				return
			}
			f.mu.Lock()
			f.seq++
			seq := f.seq
			f.identifies = append(f.identifies, d)
			f.mu.Unlock()
			_ = c.write(map[string]any{"op": 0, "s": seq, "t": "READY", "d": map[string]any{
				"v": 9, "session_id": "fake-session-" + strconv.Itoa(seq),
				"user":        map[string]any{"id": f.botID, "username": "troubleshooter", "bot": true},
				"application": map[string]any{"id": f.appID, "flags": 0},
				"guilds":      []any{},
			}})
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.notifyLocked()
			f.mu.Unlock()
		case 6:
			f.mu.Lock()
			f.seq++
			seq := f.seq
			f.conns = append(f.conns, c)
			f.notifyLocked()
			f.mu.Unlock()
			_ = c.write(map[string]any{"op": 0, "s": seq, "t": "RESUMED", "d": map[string]any{}})
		}
	}
}

// waitConnected waits until n gateway sessions have identified and at
// least one is connected.
func (f *fakeDiscord) waitConnected(n int) {
	f.t.Helper()
	f.waitFor(fmt.Sprintf("%d gateway identifies", n), func() bool { return len(f.identifies) >= n && len(f.conns) > 0 })
}

// dispatch sends a gateway event to the newest connection.
func (f *fakeDiscord) dispatch(typ string, d any) {
	f.t.Helper()
	f.mu.Lock()
	if len(f.conns) == 0 {
		f.mu.Unlock()
		f.t.Fatalf("dispatch %s: no gateway connection", typ)
	}
	c := f.conns[len(f.conns)-1]
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	if err := c.write(map[string]any{"op": 0, "s": seq, "t": typ, "d": d}); err != nil {
		f.t.Fatalf("dispatch %s: %v", typ, err)
	}
}

// broadcast sends a dispatch to every connection, ignoring failures (a
// connection closing as a bot shuts down).
func (f *fakeDiscord) broadcast(typ string, d any) {
	f.mu.Lock()
	conns := append([]*fakeConn(nil), f.conns...)
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"op": 0, "s": seq, "t": typ, "d": d})
	}
}

// --- interactions the tests send ---

const (
	testGuild   = "800000000000000001"
	testChannel = "800000000000000002"
	alice       = "700000000000000001"
	bob         = "700000000000000002"
)

func userJSON(id string) map[string]any {
	return map[string]any{"id": id, "username": "user" + id[len(id)-2:], "global_name": "User " + id[len(id)-2:]}
}

// newInteraction registers an interaction and returns its JSON. guild ""
// makes it a DM interaction (user instead of member).
func (f *fakeDiscord) newInteraction(typ int, guild, channel, user string, message map[string]any, data map[string]any) map[string]any {
	f.mu.Lock()
	ia := fakeInteraction{ID: f.id(), ChannelID: channel, GuildID: guild, Created: time.Now()}
	ia.Token = "tok-" + ia.ID
	if message != nil {
		ia.MessageID, _ = message["id"].(string)
	}
	f.interactions[ia.ID] = ia
	f.mu.Unlock()
	d := map[string]any{
		"id": ia.ID, "application_id": f.appID, "type": typ, "token": ia.Token, "version": 1,
		"channel_id": channel, "data": data, "app_permissions": "309237696512", "locale": "en-US",
	}
	if guild != "" {
		d["guild_id"] = guild
		d["member"] = map[string]any{"user": userJSON(user), "roles": []any{}, "permissions": "2147483647"}
	} else {
		d["user"] = userJSON(user)
	}
	if message != nil {
		d["message"] = message
	}
	return d
}

// overHTTP marks an interaction as delivered over HTTP.
func (f *fakeDiscord) overHTTP(ia map[string]any) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.interactions[ia["id"].(string)]
	x.HTTP = true
	f.interactions[x.ID] = x
	return ia
}

func (f *fakeDiscord) slash(guild, channel, user string, options ...map[string]any) map[string]any {
	opts := []any{}
	for _, o := range options {
		opts = append(opts, o)
	}
	return f.newInteraction(2, guild, channel, user, nil, map[string]any{"id": "cmd1", "name": CommandName, "type": 1, "options": opts})
}

func (f *fakeDiscord) click(guild, user string, message map[string]any, customID string) map[string]any {
	return f.newInteraction(3, guild, message["channel_id"].(string), user, message, map[string]any{"custom_id": customID, "component_type": 2})
}

func (f *fakeDiscord) pick(guild, user string, message map[string]any, customID, value string) map[string]any {
	return f.newInteraction(3, guild, message["channel_id"].(string), user, message, map[string]any{"custom_id": customID, "component_type": 3, "values": []any{value}})
}

func (f *fakeDiscord) submit(guild, user string, message map[string]any, customID, value string) map[string]any {
	return f.newInteraction(5, guild, message["channel_id"].(string), user, message, map[string]any{"custom_id": customID,
		"components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": "answer", "value": value}}}}})
}

// messageCreate is a MESSAGE_CREATE payload from user.
func (f *fakeDiscord) messageCreate(guild, channel, user, content string, mentionBot bool) map[string]any {
	f.mu.Lock()
	id := f.id()
	// Users' messages exist too: threads can be started from them.
	f.messages[id] = map[string]any{"id": id, "channel_id": channel, "content": content, "author": userJSON(user)}
	f.mu.Unlock()
	d := map[string]any{"id": id, "channel_id": channel, "content": content, "type": 0,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "author": userJSON(user), "mentions": []any{}}
	if guild != "" {
		d["guild_id"] = guild
	}
	if mentionBot {
		d["mentions"] = []any{map[string]any{"id": f.botID, "username": "troubleshooter", "bot": true}}
	}
	return d
}

// ctxT is a test context bounded in time.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// validMessage checks a message payload against Discord's documented
// limits, as Discord's API does (it answers 50035 Invalid Form Body).
// isNew requires something to show (50006 Cannot send an empty message).
func validMessage(m map[string]any, isNew bool) error {
	content, _ := m["content"].(string)
	if discordLen(content) > 2000 {
		return fmt.Errorf("content: must be 2000 or fewer in length (%d)", discordLen(content))
	}
	rows, _ := m["components"].([]any)
	embeds, _ := m["embeds"].([]any)
	if isNew && content == "" && len(rows) == 0 && len(embeds) == 0 {
		return fmt.Errorf("cannot send an empty message")
	}
	if err := validEmbeds(embeds); err != nil {
		return err
	}
	if len(rows) > 5 {
		return fmt.Errorf("components: must be 5 or fewer in length")
	}
	seen := map[string]bool{}
	for k, r := range rows {
		row, _ := r.(map[string]any)
		if num(row["type"]) != 1 {
			return fmt.Errorf("components.%d: top level must be action rows", k)
		}
		inner, _ := row["components"].([]any)
		if len(inner) == 0 || len(inner) > 5 {
			return fmt.Errorf("components.%d.components: 1 to 5 items", k)
		}
		for j, c := range inner {
			cm, _ := c.(map[string]any)
			id, _ := cm["custom_id"].(string)
			if id == "" || len(id) > 100 || seen[id] {
				return fmt.Errorf("components.%d.components.%d.custom_id: missing, too long or duplicate (%q)", k, j, id)
			}
			seen[id] = true
			switch num(cm["type"]) {
			case 2:
				label, _ := cm["label"].(string)
				if discordLen(label) > 80 || num(cm["style"]) < 1 || num(cm["style"]) > 4 {
					return fmt.Errorf("components.%d.components.%d: bad button %v", k, j, cm)
				}
				if label == "" && cm["emoji"] == nil {
					return fmt.Errorf("components.%d.components.%d: a button needs a label or emoji", k, j)
				}
			case 3:
				opts, _ := cm["options"].([]any)
				if len(inner) != 1 || len(opts) == 0 || len(opts) > 25 {
					return fmt.Errorf("components.%d: a select menu is alone in its row with 1-25 options", k)
				}
				for _, o := range opts {
					om, _ := o.(map[string]any)
					l, _ := om["label"].(string)
					v, _ := om["value"].(string)
					if l == "" || discordLen(l) > 100 || v == "" || len(v) > 100 {
						return fmt.Errorf("components.%d: bad option %v", k, om)
					}
				}
				if ph, _ := cm["placeholder"].(string); discordLen(ph) > 150 {
					return fmt.Errorf("components.%d: placeholder too long", k)
				}
			default:
				return fmt.Errorf("components.%d.components.%d: type %v not allowed in messages", k, j, cm["type"])
			}
		}
	}
	return nil
}

// validEmbeds checks embeds against Discord's documented limits.
func validEmbeds(embeds []any) error {
	if len(embeds) > 10 {
		return fmt.Errorf("embeds: must be 10 or fewer in length")
	}
	total := 0
	for k, e := range embeds {
		em, _ := e.(map[string]any)
		str := func(v any) int { s, _ := v.(string); return discordLen(s) }
		if n := str(em["title"]); n > 256 {
			return fmt.Errorf("embeds.%d.title: must be 256 or fewer in length", k)
		}
		if n := str(em["description"]); n > 4096 {
			return fmt.Errorf("embeds.%d.description: must be 4096 or fewer in length", k)
		}
		total += str(em["title"]) + str(em["description"])
		fields, _ := em["fields"].([]any)
		if len(fields) > 25 {
			return fmt.Errorf("embeds.%d.fields: must be 25 or fewer in length", k)
		}
		for j, fl := range fields {
			fm, _ := fl.(map[string]any)
			if n, v := str(fm["name"]), str(fm["value"]); n == 0 || n > 256 || v == 0 || v > 1024 {
				return fmt.Errorf("embeds.%d.fields.%d: name 1-256, value 1-1024", k, j)
			}
			total += str(fm["name"]) + str(fm["value"])
		}
	}
	if total > 6000 {
		return fmt.Errorf("embeds: 6000 characters in all at most")
	}
	return nil
}

// validModal checks a modal (interaction response type 9).
func validModal(d map[string]any) error {
	if d == nil {
		return fmt.Errorf("modal: no data")
	}
	id, _ := d["custom_id"].(string)
	title, _ := d["title"].(string)
	if id == "" || len(id) > 100 || title == "" || discordLen(title) > 45 {
		return fmt.Errorf("modal: custom_id %q / title %q", id, title)
	}
	rows, _ := d["components"].([]any)
	if len(rows) == 0 || len(rows) > 5 {
		return fmt.Errorf("modal: 1 to 5 rows")
	}
	for _, r := range rows {
		row, _ := r.(map[string]any)
		inner, _ := row["components"].([]any)
		if num(row["type"]) != 1 || len(inner) != 1 {
			return fmt.Errorf("modal: each row holds one text input")
		}
		ti, _ := inner[0].(map[string]any)
		label, _ := ti["label"].(string)
		if num(ti["type"]) != 4 || ti["custom_id"] == "" || label == "" || discordLen(label) > 45 ||
			num(ti["style"]) < 1 || num(ti["style"]) > 2 || num(ti["max_length"]) > 4000 || num(ti["min_length"]) > num(ti["max_length"]) && ti["max_length"] != nil {
			return fmt.Errorf("modal: bad text input %v", ti)
		}
		if ph, _ := ti["placeholder"].(string); discordLen(ph) > 100 {
			return fmt.Errorf("modal: placeholder too long")
		}
	}
	return nil
}

// --- running the adapter on the fake ---

// testLog logs to stderr only with -v, so failures can be debugged.
func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// testEngine is the real engine over a memory store and testFlow.
func testEngine(t testing.TB) (*bot.Engine, *bot.MemoryStore) {
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	return bot.NewEngine(st, testFlow{}, bot.EngineConfig{}, nil), st
}

func testConfig(f *fakeDiscord) Config {
	return Config{Token: fakeToken, ApplicationID: f.appID, GuildIDs: []string{testGuild}, APIURL: f.srv.URL}
}

// runBot starts an adapter on the fake and returns a stop function that
// cancels it and waits for Run to return nil.
func runBot(t *testing.T, f *fakeDiscord, cfg Config, h bot.Handler) (*Adapter, func()) {
	t.Helper()
	a, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.mu.Lock()
	n := len(f.identifies)
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	f.waitConnected(n + 1)
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return a, stop
}

// runEngine runs an adapter in mode on f with the real engine over
// testFlow, and returns the engine's store.
func runEngine(t *testing.T, f *fakeDiscord, mode string) *bot.MemoryStore {
	t.Helper()
	eng, st := testEngine(t)
	cfg := testConfig(f)
	cfg.Mode = mode
	runBot(t, f, cfg, eng)
	return st
}

// runAdapter runs a, made by the test, on f until the test ends; unlike
// runBot it does not check what Run returns.
func runAdapter(t *testing.T, f *fakeDiscord, a *Adapter, h bot.Handler) {
	t.Helper()
	f.mu.Lock()
	n := len(f.identifies)
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	t.Cleanup(func() { cancel(); <-done })
	f.waitConnected(n + 1)
}

// notFoundServer is a REST API that answers 404 Unknown to everything.
func notFoundServer(tb testing.TB) *httptest.Server {
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"message":"Unknown","code":0}`))
	}))
	tb.Cleanup(rest.Close)
	return rest
}

const (
	supportChannel = "800000000000000009"
	supportRole    = "600000000000000001"
	staff          = "700000000000000009"
)

func handoffEngine(t testing.TB) *bot.Engine {
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	return bot.NewEngine(st, handoffFlow{}, bot.EngineConfig{}, nil)
}

func handoffConfig(f *fakeDiscord) Config {
	cfg := testConfig(f)
	cfg.SupportChannel, cfg.SupportRole, cfg.MessageContent = supportChannel, supportRole, true
	return cfg
}

// --- fake flows and handlers ---

// testFlow is a small guide shaped like the WhatsApp–iCloud one, so the
// adapter is tested against the real bot.Engine without depending on the
// flows package (adapters never import it):
//
//	icloud (ask on/off) ─on→ size (input size) → ios (input version) → fix_update (fix)
//	       └─off→ fix_switch (fix)
//	fixes: fixed → resolved; not fixed → escalated
//
// Opening words mentioning "storage" jump to size. Like flows.Runner, a
// click carrying a Step that is not current is answered with "already
// answered" and the current question.
type testFlow struct{}

var _ bot.Flow = testFlow{}

func (testFlow) question(s *bot.Session) bot.Reply {
	switch s.Step {
	case "icloud":
		return bot.Reply{Text: "Is **WhatsApp** allowed to use iCloud?", Choices: []bot.Choice{{ID: "on", Label: "It's on"}, {ID: "off", Label: "It's off"}}}
	case "size":
		return bot.Reply{Text: "How big is your WhatsApp backup?", Input: "size", Choices: []bot.Choice{{ID: "help", Label: "Where do I find it?"}}}
	case "ios":
		return bot.Reply{Text: "Which iOS version is your iPhone on?", Input: "version"}
	case "fix_update":
		return bot.Reply{Text: "Update iOS:\n- open Settings\n- tap General\n\nDid that fix it?", Choices: []bot.Choice{{ID: "fixed", Label: "Yes, it works now"}, {ID: "not_fixed", Label: "No, still failing"}}}
	case "fix_switch":
		return bot.Reply{Text: "Turn the WhatsApp switch on.\n\nDid that fix it?", Choices: []bot.Choice{{ID: "fixed", Label: "Yes, it works now"}, {ID: "not_fixed", Label: "No, still failing"}}}
	}
	return bot.Reply{Text: "?"}
}

func (f testFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	if s.Guide == "" {
		s.Guide, s.GuideVersion, s.Step = "wa", "1", "icloud"
		intro := bot.Reply{Text: "Let's get your WhatsApp backup working."}
		if strings.Contains(strings.ToLower(m.Text), "storage") {
			s.Step = "size"
		}
		return bot.Turn{Replies: []bot.Reply{intro, f.question(s)}}, nil
	}
	if m.Choice != "" && m.Step != "" && m.Step != s.Step {
		return bot.Turn{Replies: []bot.Reply{{Text: "That question was already answered. Here's where we are now:"}, f.question(s)}}, nil
	}
	ans := m.Choice
	if ans == "" {
		ans = strings.TrimSpace(m.Text)
	}
	var say []bot.Reply
	next := ""
	switch s.Step {
	case "icloud":
		switch ans {
		case "on":
			next = "size"
		case "off":
			next = "fix_switch"
		}
	case "size":
		if ans == "help" {
			return bot.Turn{Replies: []bot.Reply{{Text: "In WhatsApp: Settings → Chats → Chat Backup."}, f.question(s)}}, nil
		}
		if strings.HasSuffix(strings.ToUpper(ans), "GB") {
			s.SetAnswer("size", "size", ans)
			say = append(say, bot.Reply{Text: "Got it: " + ans + "."})
			next = "ios"
		}
	case "ios":
		if ans != "" && strings.Trim(ans, "0123456789.") == "" {
			s.SetAnswer("ios", "ios", ans)
			say = append(say, bot.Reply{Text: "Got it: " + ans + "."})
			next = "fix_update"
		}
	case "fix_update", "fix_switch":
		switch ans {
		case "fixed":
			return f.end(s, bot.OutcomeResolved, "Great, it works! 🎉"), nil
		case "not_fixed":
			return f.end(s, bot.OutcomeEscalated, "Please contact support and share this: size "+s.Answers["size"]+", iOS "+s.Answers["ios"]+"."), nil
		}
	}
	if next == "" {
		return bot.Turn{Replies: []bot.Reply{{Text: "Sorry, I didn't get that."}, f.question(s)}}, nil
	}
	s.Step = next
	return bot.Turn{Replies: append(say, f.question(s))}, nil
}

func (f testFlow) end(s *bot.Session, kind, text string) bot.Turn {
	s.Done, s.Outcome = true, kind
	return bot.Turn{Replies: []bot.Reply{{Text: text, Done: true}}, Outcomes: []bot.Outcome{f.Outcome(s, kind, time.Now())}}
}

func (f testFlow) Current(s *bot.Session) ([]bot.Reply, error) {
	return []bot.Reply{f.question(s)}, nil
}

func (testFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Platform: s.Address.Platform, Guide: s.Guide, GuideVersion: s.GuideVersion, Kind: kind, Step: s.Step, Started: s.Started, Ended: at}
}

// handoffFlow is testFlow whose escalation hands the conversation to
// staff, with a summary holding the person's typed answers, and which,
// like flows.Runner, stays quiet while staff have it unless the person
// says "restart".
type handoffFlow struct{ testFlow }

func (f handoffFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	if s.HandedOff {
		if strings.TrimSpace(m.Text) != "restart" {
			return bot.Turn{}, nil
		}
		s.Reset(time.Now())
		return f.testFlow.Respond(s, m)
	}
	t, err := f.testFlow.Respond(s, m)
	if err == nil && s.Done && s.Outcome == bot.OutcomeEscalated {
		t.Handoff = &bot.Handoff{
			Key: s.Key, Address: s.Address, Guide: s.Guide, GuideTitle: "WhatsApp backup to iCloud",
			Summary: "**Answers**\n- Backup size: " + s.Answers["size"] + "\n- iOS version: " + s.Answers["ios"] +
				"\n**Fixes tried**\n- Update iOS: didn't help",
			Started: s.Started, At: time.Now(),
		}
	}
	return t, err
}

// handleOnly hides the engine's Current, as a plain bot.Handler would.
type handleOnly struct{ h bot.Handler }

func (h handleOnly) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	return h.h.Handle(ctx, m)
}

// countingHandler counts Handle calls.
type countingHandler struct {
	h bot.Handler
	n chan bot.Message
}

func (c *countingHandler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	select {
	case c.n <- m:
	default:
	}
	return c.h.Handle(ctx, m)
}

// failingHandler fails every turn after the first.
type failingHandler struct {
	h bot.Handler
	n atomic.Int32
}

func (f *failingHandler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	if f.n.Add(1) > 1 {
		return bot.Result{}, errors.New("store down")
	}
	return f.h.Handle(ctx, m)
}

type handlerFunc func(context.Context, bot.Message) (bot.Result, error)

func (h handlerFunc) Handle(ctx context.Context, m bot.Message) (bot.Result, error) { return h(ctx, m) }

// echoHandler answers every message the way guides echo typed answers
// ("Got it: <answer>."), so whatever the person typed comes back in the
// bot's reply.
var echoHandler = handlerFunc(func(ctx context.Context, m bot.Message) (bot.Result, error) {
	return bot.Result{Step: "s", Replies: []bot.Reply{{Text: "Got it: " + m.Text + "."}, {Text: "Anything else?", Input: "text"}}}, nil
})

type panicHandler struct{}

func (panicHandler) Handle(ctx context.Context, m bot.Message) (bot.Result, error) {
	panic("an unverified request reached the handler")
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (log handlers
// on several goroutines).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// --- conversation steps ---

// startThread runs /troubleshoot for alice in thread mode and returns the
// thread id and its first question.
func startThread(t *testing.T, f *fakeDiscord) (string, map[string]any) {
	t.Helper()
	mark := f.Mark()
	f.dispatch("INTERACTION_CREATE", f.slash(testGuild, testChannel, alice))
	thread := threadID(f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
	return thread, f.lastWithComponents(thread, "ts1|c|"+alice+"|icloud@1")
}

// threadID is the id of the thread a POST …/messages/{id}/threads call
// started: a thread started from a message has the message's id.
func threadID(c fakeCall) string { return strings.Split(c.Path, "/")[6] }

// clickFollowup has user click the control id of message q and returns
// the click's followup (checked by followupOf).
func clickFollowup(t *testing.T, f *fakeDiscord, guild, user string, q map[string]any, id string) map[string]any {
	t.Helper()
	mark := f.Mark()
	ia := f.click(guild, user, q, id)
	f.dispatch("INTERACTION_CREATE", ia)
	return followupOf(t, f, mark, ia)
}

// answerByModal clicks a "Type …" button, checks the modal, submits value
// and returns the followup, which must contain echo.
func answerByModal(t *testing.T, f *fakeDiscord, q map[string]any, typeID, modalID, value, echo string) map[string]any {
	t.Helper()
	mark := f.Mark()
	ia := f.click(testGuild, alice, q, typeID)
	f.dispatch("INTERACTION_CREATE", ia)
	cb := callbackOf(t, f, mark, ia)
	d, _ := cb["data"].(map[string]any)
	if num(cb["type"]) != 9 || d["custom_id"] != modalID || d["title"] == "" {
		t.Fatalf("modal response = %v", cb)
	}
	inputs := customIDs(d["components"], "answer")
	if len(inputs) != 1 {
		t.Fatalf("modal inputs = %v", d["components"])
	}
	mark = f.Mark()
	ia = f.submit(testGuild, alice, q, modalID, value)
	f.dispatch("INTERACTION_CREATE", ia)
	cb = callbackOf(t, f, mark, ia)
	d, _ = cb["data"].(map[string]any)
	switch num(cb["type"]) {
	case 7: // the adapter knew the question was current
	case 6: // it could not tell without the engine: marked answered after
		d = body(t, f.waitCall(mark, "PATCH", "/api/v9/webhooks/*/"+ia["token"].(string)+"/messages/@original"))
	default:
		t.Fatalf("modal submit response = %v", cb)
	}
	// The answer is said once, by the engine's reply, not echoed on the
	// question too.
	if c, _ := d["content"].(string); strings.Contains(c, "Your answer") || strings.Contains(c, escapeMarkdown(value)) {
		t.Errorf("modal submit echoed the answer on the question: %q", c)
	}
	if all, _ := disabledAll(d["components"]); !all {
		t.Errorf("answered question still has live controls: %v", d["components"])
	}
	fu := followupOf(t, f, mark, ia)
	if !strings.Contains(fu["content"].(string), echo) {
		t.Errorf("after %q: %q, want %q", value, fu["content"], echo)
	}
	return fu
}

// escalate walks alice through the thread conversation to the handoff,
// with size, and returns the thread.
func escalate(t *testing.T, f *fakeDiscord, size string) string {
	t.Helper()
	thread, q1 := startThread(t, f)
	clickFollowup(t, f, testGuild, alice, q1, "ts1|c|"+alice+"|icloud@1|on")
	mark := f.Mark()
	f.dispatch("MESSAGE_CREATE", f.messageCreate(testGuild, thread, alice, size, false))
	f.waitCall(mark, "POST", "/api/v9/channels/"+thread+"/messages")
	q3 := f.lastWithComponents(thread, "ts1|t|"+alice+"|ios@1")
	answerByModal(t, f, q3, "ts1|t|"+alice+"|ios@1|version", "ts1|m|"+alice+"|ios@1|version", "17.4.1", "Got it: 17.4.1.")
	fix := f.lastWithComponents(thread, "ts1|c|"+alice+"|fix_update@1")
	fu := clickFollowup(t, f, testGuild, alice, fix, "ts1|c|"+alice+"|fix_update@1|not_fixed")
	if !strings.Contains(fu["content"].(string), "Please contact support") || !strings.Contains(fu["content"].(string), "a person will reply here") {
		t.Errorf("escalation turn = %q, want the escalation and bot.HandoffNotice", fu["content"])
	}
	return thread
}

// asStaff gives an interaction's member the support role and no
// permissions.
func asStaff(ia map[string]any, roles ...string) map[string]any {
	m := ia["member"].(map[string]any)
	rs := []any{}
	for _, r := range roles {
		rs = append(rs, r)
	}
	m["roles"], m["permissions"] = rs, "0"
	return ia
}

// --- reading and checking what the bot sent ---

// body decodes a call's JSON body.
func body(t *testing.T, c fakeCall) map[string]any { return c.JSON(t) }

// ids lists a payload's custom ids.
func ids(m map[string]any) []string { return customIDs(m["components"], "") }

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// callbackOf waits for the initial response to interaction ia.
func callbackOf(t *testing.T, f *fakeDiscord, mark int, ia map[string]any) map[string]any {
	t.Helper()
	return body(t, f.waitCall(mark, "POST", "/api/v9/interactions/"+ia["id"].(string)+"/"+ia["token"].(string)+"/callback"))
}

// followupOf waits for a followup of interaction ia.
func followupOf(t *testing.T, f *fakeDiscord, mark int, ia map[string]any) map[string]any {
	t.Helper()
	m := body(t, f.waitCall(mark, "POST", "/api/v9/webhooks/"+f.appID+"/"+ia["token"].(string)))
	assertNoMentions(t, "followup", m)
	return m
}

// disabledAll reports whether every component in a components JSON value
// is disabled, and returns the custom id of the highlighted (success) one.
func disabledAll(v any) (bool, string) {
	all, chosen := true, ""
	eachComponent(v, func(c map[string]any) {
		if num(c["type"]) == 2 || num(c["type"]) == 3 {
			if c["disabled"] != true {
				all = false
			}
			if num(c["style"]) == 3 {
				chosen, _ = c["custom_id"].(string)
			}
		}
	})
	return all, chosen
}

// assertNoMentions checks the allowed_mentions of a message payload lets
// nothing but the listed users be pinged.
func assertNoMentions(t *testing.T, what string, m map[string]any, users ...string) {
	t.Helper()
	am, ok := m["allowed_mentions"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no allowed_mentions in %v", what, m)
	}
	parse, ok := am["parse"].([]any)
	if !ok || len(parse) != 0 {
		t.Errorf("%s: allowed_mentions.parse = %v, want []", what, am["parse"])
	}
	var got []string
	if us, ok := am["users"].([]any); ok {
		for _, u := range us {
			got = append(got, u.(string))
		}
	}
	if !slices.Equal(got, users) {
		t.Errorf("%s: allowed_mentions.users = %v, want %v", what, got, users)
	}
	if rs, ok := am["roles"]; ok && rs != nil {
		t.Errorf("%s: allowed_mentions.roles = %v", what, rs)
	}
}

// massPings counts the messages sent so far (new messages, edits,
// interaction responses, followups) whose allowed_mentions would let
// anything but the listed users and roles be pinged: no allowed_mentions
// at all (Discord then parses every mention), a non-empty parse list, or
// other ids.
func massPings(t *testing.T, f *fakeDiscord, users, roles []string) (sent, bad int) {
	t.Helper()
	for _, c := range f.Calls() {
		isMsg := c.Method == "POST" && (pathMatch("/api/v9/channels/*/messages", c.Path) || pathMatch("/api/v9/webhooks/*/*", c.Path)) ||
			c.Method == "PATCH" && strings.Contains(c.Path, "/messages/") ||
			c.Method == "POST" && strings.HasSuffix(c.Path, "/callback")
		if !isMsg || len(c.Body) == 0 {
			continue
		}
		m := c.JSON(t)
		if strings.HasSuffix(c.Path, "/callback") {
			d, _ := m["data"].(map[string]any)
			if d == nil || num(m["type"]) == 9 || d["content"] == nil && d["embeds"] == nil {
				continue // a deferred response or a modal: nothing to ping with
			}
			m = d
		}
		sent++
		am, ok := m["allowed_mentions"].(map[string]any)
		if !ok {
			bad++
			t.Errorf("%s %s: no allowed_mentions: %s", c.Method, c.Path, trimText(string(c.Body), 300))
			continue
		}
		parse, _ := am["parse"].([]any)
		ok = am["parse"] != nil && len(parse) == 0
		for _, k := range []struct {
			key  string
			want []string
		}{{"users", users}, {"roles", roles}} {
			vs, _ := am[k.key].([]any)
			for _, v := range vs {
				s, _ := v.(string)
				if !slices.Contains(k.want, s) {
					ok = false
				}
			}
		}
		if !ok {
			bad++
			t.Errorf("%s %s: allowed_mentions %v", c.Method, c.Path, am)
		}
	}
	return sent, bad
}

// unescaped drops every backslash-escaped character, leaving what Discord
// would interpret.
func unescaped(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = false
			b.WriteRune('_')
		case r == '\\':
			esc = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
