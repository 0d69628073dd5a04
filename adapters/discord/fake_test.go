package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
			return 429, map[string]any{"message": "You are being rate limited.", "retry_after": l.RetryAfter, "global": false},
				map[string]string{"Retry-After": strconv.FormatFloat(l.RetryAfter, 'f', -1, 64), "X-RateLimit-Scope": "user"}
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
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if id, ok := x["custom_id"].(string); ok && strings.HasPrefix(id, prefix) {
				out = append(out, id)
			}
			walk(x["components"])
		}
	}
	walk(v)
	return out
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
