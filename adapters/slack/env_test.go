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
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
	"troubleshooter/flows"
)

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
	set, err := flows.LoadSet(nil, nil, false)
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
	if got := root.Form.Get("text"); !strings.Contains(got, "<@U1> asked for help") || !strings.Contains(got, "my whatsapp backup") {
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
