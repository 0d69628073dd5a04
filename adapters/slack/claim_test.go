package slack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
)

// slackReplica is one replica of the bot in HTTP mode: an adapter and an
// engine over a store that other replicas may share.
type slackReplica struct {
	srv  *httptest.Server
	stop func()
}

// startSlackReplica runs an adapter over fake and an engine over st (with
// echoFlow) until stop or the end of the test.
func startSlackReplica(t *testing.T, fake *fakeSlack, st bot.Store) *slackReplica {
	t.Helper()
	ad, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", APIURL: fake.APIURL(), SigningSecret: testSecret}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ad.pace = newPacer(0, 1000)
	eng := bot.NewEngine(st, echoFlow{}, bot.EngineConfig{}, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ad.Run(ctx, eng) }()
	srv := httptest.NewUnstartedServer(ad.HTTPHandler(eng))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for !ad.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("workers did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var once sync.Once
	r := &slackReplica{srv: srv}
	r.stop = func() {
		once.Do(func() {
			srv.Close()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// signedSlash is one /troubleshoot request as Slack signs it: the same
// bytes and headers may be sent to several replicas, or again later.
type signedSlash struct {
	body []byte
	hdr  http.Header
}

func newSignedSlash(user, channel, text, trigger string, fake *fakeSlack) signedSlash {
	form := url.Values{}
	for k, v := range slashPayload(user, channel, text, trigger, fake.srv.URL+"/api/response_url") {
		form.Set(k, v)
	}
	body := []byte(form.Encode())
	hdr := sign(body, testSecret, time.Now())
	hdr.Set("Content-Type", "application/x-www-form-urlencoded")
	return signedSlash{body: body, hdr: hdr}
}

// send posts the command to r and checks the empty 200 Slack expects.
func (s signedSlash) send(r *slackReplica) error {
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+"/slack/commands", bytes.NewReader(s.body))
	if err != nil {
		return err
	}
	req.Header = s.hdr.Clone()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || b.Len() != 0 {
		return fmt.Errorf("POST /slack/commands = %d %q, want 200 and an empty body", resp.StatusCode, b.String())
	}
	return nil
}

// sendAll sends the command to every replica at once.
func (s signedSlash) sendAll(t *testing.T, rs ...*slackReplica) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(rs))
	for i, r := range rs {
		wg.Go(func() { errs[i] = s.send(r) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitQuiet waits until the fake has had no call for quiet, so that a
// duplicate's posts, if any, have been made.
func waitQuiet(t *testing.T, fake *fakeSlack, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	n := fake.ncalls()
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		m := fake.ncalls()
		if m == n {
			return
		}
		n = m
	}
	t.Fatal("the fake never went quiet")
}

func isAskedForHelp(channel string) func(apiCall) bool {
	return func(c apiCall) bool {
		return isPost(channel, "")(c) && strings.Contains(c.Form.Get("text"), "asked for help")
	}
}

// isDMPost matches every post to a DM channel.
func isDMPost(channel string) func(apiCall) bool {
	return func(c apiCall) bool {
		return c.Method == "chat.postMessage" && c.Status == 200 && c.Form.Get("channel") == channel
	}
}

// sharedStores are the stores two replicas share in the tests below: the
// memory store (replicas in one process) and Redis (when REDIS_URL is set;
// each replica has its own client).
func sharedStores(t *testing.T) []struct {
	name string
	open func(t *testing.T) (a, b bot.Store)
} {
	return []struct {
		name string
		open func(t *testing.T) (a, b bot.Store)
	}{
		{"memory", func(t *testing.T) (bot.Store, bot.Store) {
			st := bot.NewMemoryStore()
			t.Cleanup(func() { _ = st.Close() })
			return st, st
		}},
		{"redis", func(t *testing.T) (bot.Store, bot.Store) {
			cfg := redisstore.Config{URL: redistest.URL(t), Prefix: fmt.Sprintf("slackclaim:%d:", time.Now().UnixNano())}
			a, err := redisstore.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := redisstore.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = a.DeletePrefix(context.Background())
				_ = a.Close()
				_ = b.Close()
			})
			return a, b
		}},
	}
}

// TestSlashCommandOnceAcrossReplicas sends the same signed /troubleshoot
// to two replicas sharing a store, 20 times in a channel and 20 times in a
// DM: every command starts one conversation (one "asked for help" post and
// one thread in a channel; one first turn in a DM), and both replicas
// answer 200 with an empty body.
func TestSlashCommandOnceAcrossReplicas(t *testing.T) {
	const rounds = 20
	for _, tc := range sharedStores(t) {
		t.Run(tc.name, func(t *testing.T) {
			stA, stB := tc.open(t)
			fake := newFakeSlack(t)
			a, b := startSlackReplica(t, fake, stA), startSlackReplica(t, fake, stB)

			doubled := 0
			for i := range rounds {
				from := fake.ncalls()
				cmd := newSignedSlash("U1", "C1", fmt.Sprintf("printer %d", i), fmt.Sprintf("trigger-ch-%s-%d", tc.name, i), fake)
				cmd.sendAll(t, a, b)
				root, _ := fake.waitFor(from, "the thread's root post", isAskedForHelp("C1"))
				fake.waitFor(from, "the first question", isPost("C1", root.TS))
				waitQuiet(t, fake, 100*time.Millisecond)
				calls, _ := fake.snapshot()
				if n := countCalls(calls[from:], isAskedForHelp("C1")); n != 1 {
					doubled++
					t.Errorf("channel round %d: %d \"asked for help\" posts, want 1", i, n)
				}
			}

			// A DM: the conversation is the DM itself; a second copy of the
			// command would post again (a "where we are" resume or a second
			// first turn).
			dmDoubled := 0
			for i := range rounds {
				channel := fmt.Sprintf("D%d", i)
				from := fake.ncalls()
				cmd := newSignedSlash(fmt.Sprintf("UDM%d", i), channel, "printer", fmt.Sprintf("trigger-dm-%s-%d", tc.name, i), fake)
				cmd.sendAll(t, a, b)
				fake.waitFor(from, "the first question", func(c apiCall) bool { return isDMPost(channel)(c) && len(buttonsOf(t, c)) > 0 })
				waitQuiet(t, fake, 100*time.Millisecond)
				calls, _ := fake.snapshot()
				// echoFlow's first turn is one post: the echo and the question.
				if n := countCalls(calls[from:], isDMPost(channel)); n != 1 {
					dmDoubled++
					t.Errorf("DM round %d: %d posts, want the first turn's 1:%s", i, n, describe(calls[from:]))
				}
			}
			t.Logf("%s: same /troubleshoot to 2 replicas, %d rounds: %d channel rounds started more than one conversation, %d DM rounds got extra posts",
				tc.name, rounds, doubled, dmDoubled)
		})
	}
}

// TestSlashCommandReplayAfterRestart sends a signed /troubleshoot, restarts
// the bot over the same bolt file, and sends the same request again within
// Slack's 5 minutes: no second conversation.
func TestSlashCommandReplayAfterRestart(t *testing.T) {
	const rounds = 5
	path := filepath.Join(t.TempDir(), "bot.db")
	fake := newFakeSlack(t)
	open := func() *boltstore.Store {
		st, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	r := startSlackReplica(t, fake, st)
	var cmds []signedSlash
	for i := range rounds {
		from := fake.ncalls()
		cmd := newSignedSlash("U1", "C1", "printer", fmt.Sprintf("trigger-replay-%d", i), fake)
		if err := cmd.send(r); err != nil {
			t.Fatal(err)
		}
		root, _ := fake.waitFor(from, "the thread's root post", isAskedForHelp("C1"))
		fake.waitFor(from, "the first question", isPost("C1", root.TS))
		cmds = append(cmds, cmd)
	}
	waitQuiet(t, fake, 100*time.Millisecond)
	r.stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open()
	t.Cleanup(func() { _ = st.Close() })
	r = startSlackReplica(t, fake, st)
	from := fake.ncalls()
	for _, cmd := range cmds {
		if err := cmd.send(r); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh command still works after the restart (and marks the end
	// of the replays' work: the worker handles one channel's commands in
	// order).
	fresh := newSignedSlash("U1", "C1", "printer", "trigger-replay-fresh", fake)
	if err := fresh.send(r); err != nil {
		t.Fatal(err)
	}
	root, _ := fake.waitFor(from, "the fresh command's root post", isAskedForHelp("C1"))
	fake.waitFor(from, "the fresh command's first question", isPost("C1", root.TS))
	waitQuiet(t, fake, 100*time.Millisecond)
	calls, _ := fake.snapshot()
	if n := countCalls(calls[from:], isAskedForHelp("C1")); n != 1 {
		t.Errorf("%d replayed commands and 1 fresh one after a restart: %d \"asked for help\" posts, want 1 (the fresh one):%s",
			rounds, n, describe(calls[from:]))
	}
	t.Logf("%d signed commands replayed after a restart over the same bolt file: %d new conversations", rounds, countCalls(calls[from:], isAskedForHelp("C1"))-1)
}

func countCalls(calls []apiCall, ok func(apiCall) bool) int {
	n := 0
	for _, c := range calls {
		if ok(c) {
			n++
		}
	}
	return n
}
