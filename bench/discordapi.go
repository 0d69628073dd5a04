package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Discord's REST limits as the fake enforces them. Discord publishes only
// the global one (50 requests a second per bot, interaction endpoints
// excluded) and asks bots to read the per-route limits from the
// X-RateLimit-* headers rather than hard-code them; the per-route figures
// here are the ones bots commonly observe in those headers.
var (
	// discordGlobal is every bot-token request outside interactions.
	discordGlobal = rateLimit{Rate: 50, Burst: 50}
	// discordWebhook is each interaction token's webhook (the deferred
	// response's edits and the follow-ups): 5 per 2 s.
	discordWebhook = rateLimit{Rate: 2.5, Burst: 5}
	// discordChannel is messages sent or edited in one channel: 5 per 5 s.
	discordChannel = rateLimit{Rate: 1, Burst: 5}
	// discordOther is every other route, per route.
	discordOther = rateLimit{Rate: 10, Burst: 10}
)

// DiscordAPIOptions configure NewDiscordAPI.
type DiscordAPIOptions struct {
	// Latency is added to every call before it is answered.
	Latency Latency
	// Limits makes the fake answer 429 (JSON retry_after, Retry-After and
	// X-RateLimit-Scope), as Discord does, beyond the limits above, and
	// send X-RateLimit-* headers on every limited route.
	Limits bool
}

// DiscordAPI is a fake Discord REST API for the adapter's HTTP
// interactions: interaction webhooks (the deferred response's edits and
// follow-ups), channel messages, DM channels and command registration.
// Its counters are safe to read at any time.
type DiscordAPI struct {
	// Server is the running fake; its URL is the adapter's api_url.
	Server *httptest.Server
	// Replies counts accepted messages and edits (webhook edits and
	// follow-ups, channel messages): replies Discord would have shown.
	Replies atomic.Int64
	// Answered counts interaction tokens that got at least one accepted
	// reply.
	Answered atomic.Int64
	// Limited counts calls answered 429.
	Limited atomic.Int64

	opts DiscordAPIOptions
	// now is the limits' clock (tests freeze it).
	now      func() time.Time
	ids      atomic.Int64
	answered sync.Map // interaction token → struct{}
	global   *limiter
	webhooks *limiter
	channels *limiter
	other    *limiter
}

// discordBotID is the fake bot's user id.
const discordBotID = "1100000000000000001"

// NewDiscordAPI starts a fake Discord REST API on a free loopback port.
// Close it with d.Server.Close.
func NewDiscordAPI(opts DiscordAPIOptions) *DiscordAPI {
	d := &DiscordAPI{opts: opts, now: time.Now, global: newLimiter(discordGlobal), webhooks: newLimiter(discordWebhook),
		channels: newLimiter(discordChannel), other: newLimiter(discordOther)}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	return d
}

// discordRoute is what the fake makes of a request path.
type discordRoute struct {
	kind     string // "webhook", "channel-message", "channel", "dm", "commands", "callback"
	resource string // the top-level resource: a webhook token, a channel id
	template string // the route without its ids, for X-RateLimit-Bucket
	token    string // the interaction token, for webhooks
}

// parseDiscordRoute classifies a REST path (after /api/v9 or /api/v10);
// ok is false for routes the fake does not serve.
func parseDiscordRoute(method, path string) (discordRoute, bool) {
	p, ok := strings.CutPrefix(path, "/api/v9/")
	if !ok {
		if p, ok = strings.CutPrefix(path, "/api/v10/"); !ok {
			return discordRoute{}, false
		}
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	for _, s := range seg {
		if s == "" {
			return discordRoute{}, false
		}
	}
	switch {
	case method == "POST" && len(seg) == 4 && seg[0] == "interactions" && seg[3] == "callback":
		return discordRoute{kind: "callback", resource: seg[1], template: "POST /interactions/:id/:token/callback"}, true
	case len(seg) >= 3 && seg[0] == "webhooks":
		switch {
		case method == "POST" && len(seg) == 3:
			return discordRoute{kind: "webhook", resource: seg[1] + "/" + seg[2], token: seg[2], template: "POST /webhooks/:id/:token"}, true
		case len(seg) == 5 && seg[3] == "messages" && (method == "PATCH" || method == "GET" || method == "DELETE"):
			return discordRoute{kind: "webhook", resource: seg[1] + "/" + seg[2], token: seg[2], template: method + " /webhooks/:id/:token/messages/:msg"}, true
		}
	case len(seg) >= 3 && seg[0] == "channels" && seg[2] == "messages":
		if (method == "POST" && len(seg) == 3) || (len(seg) == 4 && (method == "PATCH" || method == "GET")) {
			return discordRoute{kind: "channel-message", resource: seg[1], template: method + " /channels/:id/messages"}, true
		}
	case method == "GET" && len(seg) == 2 && seg[0] == "channels":
		return discordRoute{kind: "channel", resource: seg[1], template: "GET /channels/:id"}, true
	case method == "POST" && p == "users/@me/channels":
		return discordRoute{kind: "dm", template: "POST /users/@me/channels"}, true
	case method == "PUT" && len(seg) >= 3 && seg[0] == "applications" && seg[len(seg)-1] == "commands":
		return discordRoute{kind: "commands", resource: seg[1], template: "PUT /applications/:id/commands"}, true
	}
	return discordRoute{}, false
}

func (d *DiscordAPI) serve(w http.ResponseWriter, r *http.Request) {
	d.opts.Latency.sleep()
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rt, ok := parseDiscordRoute(r.Method, r.URL.Path)
	if !ok {
		writeDiscordJSON(w, http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0})
		return
	}
	if d.opts.Limits && !d.allow(w, rt, d.now()) {
		return
	}
	var in map[string]any
	if len(body) > 0 && rt.kind != "commands" {
		if err := json.Unmarshal(body, &in); err != nil {
			writeDiscordJSON(w, http.StatusBadRequest, map[string]any{"message": "The request body contains invalid JSON.", "code": 50109})
			return
		}
	}
	switch rt.kind {
	case "callback":
		w.WriteHeader(http.StatusNoContent)
	case "webhook", "channel-message":
		if r.Method == "DELETE" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		channel := rt.resource
		if rt.kind == "webhook" {
			channel = "1200000000000000001"
		}
		if r.Method != "GET" {
			d.Replies.Add(1)
			if rt.token != "" {
				if _, seen := d.answered.LoadOrStore(rt.token, struct{}{}); !seen {
					d.Answered.Add(1)
				}
			}
		}
		m := map[string]any{"id": d.id(), "channel_id": channel, "type": 0, "timestamp": time.Now().UTC().Format(time.RFC3339),
			"author": map[string]any{"id": discordBotID, "username": "troubleshooter", "bot": true}}
		for _, k := range []string{"content", "components", "embeds", "flags"} {
			if v, ok := in[k]; ok {
				m[k] = v
			}
		}
		writeDiscordJSON(w, http.StatusOK, m)
	case "channel":
		writeDiscordJSON(w, http.StatusOK, map[string]any{"id": rt.resource, "type": 1})
	case "dm":
		rid, _ := in["recipient_id"].(string)
		writeDiscordJSON(w, http.StatusOK, map[string]any{"id": d.id(), "type": 1,
			"recipients": []any{map[string]any{"id": rid, "username": "user"}}})
	case "commands":
		var cmds []map[string]any
		if err := json.Unmarshal(body, &cmds); err != nil {
			writeDiscordJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
			return
		}
		for _, c := range cmds {
			c["id"], c["application_id"], c["version"] = d.id(), rt.resource, d.id()
		}
		writeDiscordJSON(w, http.StatusOK, cmds)
	}
}

// allow applies the route's limits at now: it sets the route's
// X-RateLimit-* headers and, over a limit, answers 429 itself and returns
// false. Interaction callbacks and webhooks are outside the global limit,
// as Discord documents.
func (d *DiscordAPI) allow(w http.ResponseWriter, rt discordRoute, now time.Time) bool {
	var l *limiter
	switch rt.kind {
	case "callback":
		return true
	case "webhook":
		l = d.webhooks
	case "channel-message":
		l = d.channels
	default:
		l = d.other
	}
	key := rt.resource
	if l == d.other {
		key = rt.template + " " + rt.resource
	}
	ok, remaining, resetAfter, wait := l.take(key, now)
	h := w.Header()
	sum := sha256.Sum256([]byte(rt.template))
	h.Set("X-RateLimit-Bucket", hex.EncodeToString(sum[:8]))
	h.Set("X-RateLimit-Limit", strconv.Itoa(int(l.limit.Burst)))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(resetAfter.Seconds(), 'f', 3, 64))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(now.Add(resetAfter).UnixMilli())/1000, 'f', 3, 64))
	if !ok {
		d.tooMany(w, wait, false)
		return false
	}
	if rt.kind == "webhook" {
		return true
	}
	if ok, _, _, wait := d.global.take("", now); !ok {
		d.tooMany(w, wait, true)
		return false
	}
	return true
}

// tooMany answers 429 the way Discord does.
func (d *DiscordAPI) tooMany(w http.ResponseWriter, wait time.Duration, global bool) {
	d.Limited.Add(1)
	h := w.Header()
	h.Set("Retry-After", retryAfterSeconds(wait))
	if global {
		h.Set("X-RateLimit-Global", "true")
		h.Set("X-RateLimit-Scope", "global")
	} else {
		h.Set("X-RateLimit-Scope", "user")
	}
	writeDiscordJSON(w, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.",
		"retry_after": float64(wait.Milliseconds()) / 1000, "global": global})
}

// id is a fresh snowflake for the fake's own objects.
func (d *DiscordAPI) id() string { return snowflakeAt(time.Now(), uint64(d.ids.Add(1))) }

func writeDiscordJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
