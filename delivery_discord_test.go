package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// slowDiscord is a Discord REST API and gateway fake for
// TestDiscordDeliveryUnderSignals: enough of both for `serve` to start
// (command registration, a gateway session), and the calls the adapter
// makes to answer HTTP interactions (the deferred response's edit,
// followups) and the sweeper's posts into a DM. Message posts take
// 50–300 ms, as Discord's do. It records each message's text by the
// interaction token or channel it was sent to.
type slowDiscord struct {
	srv    *httptest.Server
	appID  string
	nextID atomic.Int64
	mu     sync.Mutex
	posts  map[string][]string // "token:T" or "channel:C" → texts, in order
}

func newSlowDiscord(t *testing.T, appID string) *slowDiscord {
	f := &slowDiscord{appID: appID, posts: map[string][]string{}}
	f.nextID.Store(1300000000000000000)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *slowDiscord) record(key string, body []byte) {
	var in struct {
		Content string `json:"content"`
	}
	_ = json.Unmarshal(body, &in)
	f.mu.Lock()
	f.posts[key] = append(f.posts[key], in.Content+"\n"+string(body))
	f.mu.Unlock()
}

func (f *slowDiscord) message(w http.ResponseWriter, channel string, body []byte) {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	if m == nil {
		m = map[string]any{}
	}
	m["id"] = strconv.FormatInt(f.nextID.Add(1), 10)
	m["channel_id"] = channel
	m["type"] = 0
	m["timestamp"] = time.Now().UTC().Format(time.RFC3339)
	m["author"] = map[string]any{"id": "900000000000000002", "username": "troubleshooter", "bot": true}
	writeJSONBody(w, 200, m)
}

func writeJSONBody(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *slowDiscord) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/gw") {
		f.gateway(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	p, ok := strings.CutPrefix(r.URL.Path, "/api/v9/")
	if !ok {
		if p, ok = strings.CutPrefix(r.URL.Path, "/api/v10/"); !ok {
			writeJSONBody(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
			return
		}
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	slow := func() { time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond) }
	switch {
	case r.Method == "GET" && (p == "gateway" || p == "gateway/bot"):
		writeJSONBody(w, 200, map[string]any{"url": "ws://" + f.srv.Listener.Addr().String() + "/gw", "shards": 1,
			"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
	case r.Method == "PUT" && seg[0] == "applications" && seg[len(seg)-1] == "commands":
		var cmds []map[string]any
		_ = json.Unmarshal(body, &cmds)
		for _, c := range cmds {
			c["id"], c["application_id"], c["version"] = strconv.FormatInt(f.nextID.Add(1), 10), f.appID, "1"
		}
		writeJSONBody(w, 200, cmds)
	case seg[0] == "webhooks" && len(seg) == 3 && r.Method == "POST": // a followup
		slow()
		f.record("token:"+seg[2], body)
		f.message(w, "", body)
	case seg[0] == "webhooks" && len(seg) == 5 && r.Method == "PATCH": // the deferred response's edit
		slow()
		f.record("token:"+seg[2], body)
		f.message(w, "", body)
	case seg[0] == "webhooks" && len(seg) == 5 && r.Method == "DELETE":
		w.WriteHeader(204)
	case seg[0] == "channels" && len(seg) == 3 && seg[2] == "messages" && r.Method == "POST":
		slow()
		f.record("channel:"+seg[1], body)
		f.message(w, seg[1], body)
	case seg[0] == "channels" && len(seg) == 2 && r.Method == "GET":
		writeJSONBody(w, 200, map[string]any{"id": seg[1], "type": 1})
	default:
		writeJSONBody(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
	}
}

// gateway is a gateway session that says hello, answers IDENTIFY with
// READY and acknowledges heartbeats; it dispatches nothing else.
func (f *slowDiscord) gateway(w http.ResponseWriter, r *http.Request) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	if ws.WriteJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 41250}}) != nil {
		return
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(60 * time.Second))
		var p struct {
			Op int `json:"op"`
		}
		if ws.ReadJSON(&p) != nil {
			return
		}
		switch p.Op {
		case 1:
			_ = ws.WriteJSON(map[string]any{"op": 11})
		case 2, 6:
			_ = ws.WriteJSON(map[string]any{"op": 0, "s": 1, "t": "READY", "d": map[string]any{
				"v": 9, "session_id": "fake-session",
				"user":        map[string]any{"id": "900000000000000002", "username": "troubleshooter", "bot": true},
				"application": map[string]any{"id": f.appID, "flags": 0},
				"guilds":      []any{},
			}})
		}
	}
}

// answered is how many messages containing want were sent for the
// interaction with token, or into channel.
func (f *slowDiscord) answered(token, channel, want string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, key := range []string{"token:" + token, "channel:" + channel} {
		for _, p := range f.posts[key] {
			if strings.Contains(p, want) {
				n++
			}
		}
	}
	return n
}

// postInteraction sends a /troubleshoot interaction from a DM, signed with
// key, to the bot's interactions endpoint and returns the HTTP status and
// the initial response's type (5, deferred: a reply promised; 4, a
// message: the answer itself, such as "try again").
func postInteraction(client *http.Client, base string, key ed25519.PrivateKey, appID, id, token, channel, user, problem string) (int, int, error) {
	body, _ := json.Marshal(map[string]any{
		"id": id, "application_id": appID, "type": 2, "token": token, "version": 1, "channel_id": channel,
		"user": map[string]any{"id": user, "username": "user" + user[len(user)-3:]},
		"data": map[string]any{"id": "1", "name": "troubleshoot", "type": 1,
			"options": []any{map[string]any{"name": "problem", "type": 3, "value": problem}}},
		"app_permissions": "309237696512", "locale": "en-US",
	})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := ed25519.Sign(key, append([]byte(ts), body...))
	req, err := http.NewRequest("POST", base+"/discord/interactions", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	req.Header.Set("X-Signature-Timestamp", ts)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Type int `json:"type"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out.Type, nil
}

// TestDiscordDeliveryUnderSignals is TestDeliveryUnderSignals for Discord
// HTTP interactions: 400 signed /troubleshoot interactions, each from its
// own DM, from 8 concurrent senders to `serve` (a real child process with
// discord.http_interactions) whose REST calls go to a fake Discord whose
// posts take 50–300 ms. Right after the last one got its initial response
// the process gets SIGTERM or SIGKILL, then a new process starts over the
// same bolt file. Discord never redelivers an interaction, so every one
// that got a 2xx initial response must get its reply — by the stopping
// process within its grace, or by the next process's outbox sweeper, in
// the DM — and none more than twice.
func TestDiscordDeliveryUnderSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { discordDeliveryUnderSignal(t, sig) })
	}
}

func discordDeliveryUnderSignal(t *testing.T, sig syscall.Signal) {
	const events, senders = 400, 8
	const question = "allowed to use iCloud"
	const problem = "my whatsapp backup fails"
	const appID = "900000000000000001"
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	api := newSlowDiscord(t, appID)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := `
store:
  kind: bolt
  path: ` + filepath.Join(dir, "bot.db") + `
conversation:
  sweep_every: 200ms
discord:
  token: fake-bot-token
  application_id: "` + appID + `"
  public_key: ` + hex.EncodeToString(pub) + `
  http_interactions: true
  api_url: ` + api.srv.URL + `
  outbox_after: 2s
http:
  addr: 127.0.0.1:0
  shutdown_grace: 10s
throttle:
  per_minute: 100000
  burst: 100000
log:
  level: info
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	defer client.CloseIdleConnections()
	base := int64(1400000000000000000)
	if sig == syscall.SIGKILL {
		base += 100000
	}
	id := func(i int) string { return strconv.FormatInt(base+int64(i), 10) }
	token := func(i int) string { return "tok-" + id(i) }
	channel := func(i int) string { return strconv.FormatInt(base+50000+int64(i), 10) }
	user := func(i int) string { return strconv.FormatInt(base+70000+int64(i), 10) }
	send := func(addr string, i int) (int, int, error) {
		return postInteraction(client, "http://"+addr, key, appID, id(i), token(i), channel(i), user(i), problem)
	}

	bot := startBot(t, cfgPath)
	bot.warmUp(t, func() (int, error) {
		code, _, err := postInteraction(client, "http://"+bot.addr, key, appID, "1500000000000000000", "tok-warm", "1500000000000000001", "1500000000000000002", problem)
		return code, err
	})

	// An interaction is acknowledged when its 2xx initial response
	// promises a reply (deferred); one answered in the response itself
	// (an ephemeral "try again" when its turn could not be saved in time)
	// got its answer and is counted apart.
	start := time.Now()
	var inPlace atomic.Int64
	acked, refused := sendConcurrently(events, senders, func(i int) bool {
		code, typ, err := send(bot.addr, i)
		if err == nil && code >= 200 && code < 300 && typ == 4 {
			inPlace.Add(1)
			return false
		}
		return err == nil && code >= 200 && code < 300
	})
	if err := bot.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	sent := time.Since(start)
	count := func() (nAcked, posted int) {
		for i := range events {
			if acked[i].Load() {
				nAcked++
			}
			if api.answered(token(i), channel(i), question) > 0 {
				posted++
			}
		}
		return nAcked, posted
	}
	nAcked, postedBeforeSignal := count()
	err = bot.wait(t, 20*time.Second)
	stopLog := ""
	for _, l := range strings.Split(bot.logText(), "\n") {
		if strings.Contains(l, "discord adapter stopped") {
			stopLog = l
		}
	}
	if sig == syscall.SIGTERM {
		if err != nil {
			t.Errorf("after SIGTERM the bot exited with %v", err)
		}
		if stopLog == "" {
			t.Errorf("no shutdown summary logged after SIGTERM:\n%s", bot.logText())
		}
	}
	_, postedAtExit := count()

	// The next process over the same store: its sweeper posts, into each
	// DM, what was saved but not sent. Discord redelivers nothing.
	bot2 := startBot(t, cfgPath)
	lost := func() int {
		n := 0
		for i := range events {
			if acked[i].Load() && api.answered(token(i), channel(i), question) == 0 {
				n++
			}
		}
		return n
	}
	restarted := time.Now()
	for deadline := time.Now().Add(30 * time.Second); lost() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	caughtUp := time.Since(restarted)
	time.Sleep(2500 * time.Millisecond) // a second copy, if any, would come now
	_ = bot2.cmd.Process.Signal(syscall.SIGTERM)
	if err := bot2.wait(t, 20*time.Second); err != nil {
		t.Errorf("the second bot exited with %v", err)
	}
	twice, more, unacked := 0, 0, 0
	for i := range events {
		n := api.answered(token(i), channel(i), question)
		switch {
		case n == 2:
			twice++
		case n > 2:
			more++
		}
		if !acked[i].Load() && n > 0 {
			unacked++
		}
	}
	nLost := lost()
	t.Logf("%s: %d interactions in %v from %d senders: %d got a 2xx deferred initial response, %d not (%d of them answered \"try again\" in the response); replies posted before the signal %d, at exit %d; after the restart (the last reply %v after it): %d lost, %d posted twice, %d more than twice (%d refused but answered anyway)",
		sig, events, sent.Round(time.Millisecond), senders, nAcked, refused, inPlace.Load(), postedBeforeSignal, postedAtExit, caughtUp.Round(100*time.Millisecond), nLost, twice, more, unacked)
	if stopLog != "" {
		t.Logf("%s: %s", sig, stopLog[strings.Index(stopLog, "msg="):])
	}
	if nAcked < events*9/10 {
		t.Errorf("only %d of %d interactions got a 2xx deferred initial response", nAcked, events)
	}
	if nLost > 0 {
		t.Errorf("%d of the %d acknowledged interactions never got their reply", nLost, nAcked)
		// What each process said about acks, failed turns and the outbox:
		// where a lost reply went.
		for n, p := range []*botProcess{bot, bot2} {
			for _, l := range strings.Split(p.logText(), "\n") {
				if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
					t.Logf("process %d: %s", n+1, l)
				}
			}
		}
	}
	if more > 0 {
		t.Errorf("%d interactions got their reply more than twice", more)
	}
}
