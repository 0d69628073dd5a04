package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/adapters/redisstore"
	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
)

// claimReplica is one replica of the bot taking interactions over HTTP in
// thread mode: an adapter and an engine (over testFlow) on a store other
// replicas may share.
type claimReplica struct {
	srv *httptest.Server
}

func startClaimReplica(t *testing.T, f *fakeDiscord, pub ed25519.PublicKey, st bot.Store) *claimReplica {
	t.Helper()
	cfg := testConfig(f)
	cfg.HTTPInteractions, cfg.PublicKey, cfg.Mode = true, hex.EncodeToString(pub), ModeThread
	a, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	eng := bot.NewEngine(st, testFlow{}, bot.EngineConfig{}, nil)
	mux := http.NewServeMux()
	mux.Handle(InteractionsPath, a.InteractionsHandler(eng))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &claimReplica{srv: srv}
}

// signedInteraction is one interaction as Discord signs it: the same bytes
// and headers may reach several replicas, or come again later.
type signedInteraction struct {
	body []byte
	hdr  http.Header
}

func signInteraction(t *testing.T, priv ed25519.PrivateKey, ia map[string]any) signedInteraction {
	body := mustJSON(t, ia)
	ts := now()
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), body...))))
	hdr.Set("X-Signature-Timestamp", ts)
	return signedInteraction{body: body, hdr: hdr}
}

// send posts the interaction to r and checks its initial response.
func (s signedInteraction) send(r *claimReplica) error {
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+InteractionsPath, bytes.NewReader(s.body))
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
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s = %d, want 200", InteractionsPath, resp.StatusCode)
	}
	return nil
}

// sendAll sends the interaction to every replica at once.
func (s signedInteraction) sendAll(t *testing.T, rs ...*claimReplica) {
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

// quietFor waits until f has had no REST call for quiet, so that a
// duplicate's calls, if any, have been made.
func quietFor(t *testing.T, f *fakeDiscord, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	n := f.Mark()
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		m := f.Mark()
		if m == n {
			return
		}
		n = m
	}
	t.Fatal("the fake never went quiet")
}

// conversationsSince counts what the interactions since mark started:
// threads opened, and first questions posted (in a thread or, when a
// thread could not be opened, in the channel).
func conversationsSince(f *fakeDiscord, mark int) (threads, questions int) {
	threads = len(f.callsSince(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls[min(mark, len(f.calls)):] {
		if c.Method == "POST" && pathMatch("/api/v9/channels/*/messages", c.Path) && bytes.Contains(c.Body, []byte("ts1|c|")) {
			questions++
		}
	}
	return threads, questions
}

func newInteractionKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// TestSlashCommandOnceAcrossReplicas sends the same signed /troubleshoot
// interaction to two replicas sharing a store, 20 times: every one opens
// one thread and asks its first question once.
func TestSlashCommandOnceAcrossReplicas(t *testing.T) {
	const rounds = 20
	stores := []struct {
		name string
		open func(t *testing.T) (a, b bot.Store)
	}{
		{"memory", func(t *testing.T) (bot.Store, bot.Store) {
			st := bot.NewMemoryStore()
			t.Cleanup(func() { _ = st.Close() })
			return st, st
		}},
		{"redis", func(t *testing.T) (bot.Store, bot.Store) {
			cfg := redisstore.Config{URL: redistest.URL(t), Prefix: fmt.Sprintf("discordclaim:%d:", time.Now().UnixNano())}
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
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			stA, stB := tc.open(t)
			f := newFakeDiscord(t)
			pub, priv := newInteractionKey(t)
			a, b := startClaimReplica(t, f, pub, stA), startClaimReplica(t, f, pub, stB)
			doubled := 0
			for i := range rounds {
				mark := f.Mark()
				// A different person each round: one conversation each.
				user := fmt.Sprintf("7000000000000001%02d", i)
				ia := signInteraction(t, priv, f.overHTTP(f.slash(testGuild, testChannel, user)))
				ia.sendAll(t, a, b)
				f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads")
				quietFor(t, f, 100*time.Millisecond)
				if threads, questions := conversationsSince(f, mark); threads != 1 || questions != 1 {
					doubled++
					t.Errorf("round %d: %d threads opened and %d first questions, want 1 and 1", i, threads, questions)
				}
			}
			t.Logf("%s: the same /troubleshoot interaction to 2 replicas, %d rounds: %d started more than one conversation", tc.name, rounds, doubled)
		})
	}
}

// TestSlashCommandReplayAfterRestart replays signed /troubleshoot
// interactions to a bot restarted over the same bolt file, within the 5
// minutes their signatures are accepted: no second thread, no second
// question.
func TestSlashCommandReplayAfterRestart(t *testing.T) {
	const rounds = 5
	path := filepath.Join(t.TempDir(), "bot.db")
	f := newFakeDiscord(t)
	pub, priv := newInteractionKey(t)
	open := func() *boltstore.Store {
		st, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	r := startClaimReplica(t, f, pub, st)
	var sent []signedInteraction
	for i := range rounds {
		mark := f.Mark()
		ia := signInteraction(t, priv, f.overHTTP(f.slash(testGuild, testChannel, fmt.Sprintf("7000000000000002%02d", i))))
		if err := ia.send(r); err != nil {
			t.Fatal(err)
		}
		f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads")
		sent = append(sent, ia)
	}
	quietFor(t, f, 100*time.Millisecond)
	r.srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open()
	t.Cleanup(func() { _ = st.Close() })
	r = startClaimReplica(t, f, pub, st)
	mark := f.Mark()
	for _, ia := range sent {
		if err := ia.send(r); err != nil {
			t.Fatal(err)
		}
	}
	quietFor(t, f, 150*time.Millisecond)
	threads, questions := conversationsSince(f, mark)
	if threads != 0 || questions != 0 {
		t.Errorf("%d interactions replayed after a restart: %d threads opened and %d first questions, want none", rounds, threads, questions)
	}
	t.Logf("%d signed interactions replayed after a restart over the same bolt file: %d threads, %d first questions", rounds, threads, questions)
}

// TestAnswerOnceAcrossReplicas sends the same click, then the same modal
// submit, to two replicas sharing a store, 10 times each: each answer is
// applied and followed up once. Before answer (interactions.go) claimed the
// interaction id, the second replica, finding the question already
// answered, posted "That question was already answered" (10 of 10 clicks
// and 10 of 10 modal submits).
func TestAnswerOnceAcrossReplicas(t *testing.T) {
	const rounds = 10
	st := bot.NewMemoryStore()
	t.Cleanup(func() { _ = st.Close() })
	f := newFakeDiscord(t)
	pub, priv := newInteractionKey(t)
	a, b := startClaimReplica(t, f, pub, st), startClaimReplica(t, f, pub, st)
	for i := range rounds {
		user := fmt.Sprintf("7000000000000003%02d", i)
		mark := f.Mark()
		if err := signInteraction(t, priv, f.overHTTP(f.slash(testGuild, testChannel, user))).send(a); err != nil {
			t.Fatal(err)
		}
		th := threadID(f.waitCall(mark, "POST", "/api/v9/channels/"+testChannel+"/messages/*/threads"))
		quietFor(t, f, 100*time.Millisecond)

		q := f.lastWithComponents(th, "ts1|c|"+user+"|icloud@1")
		mark = f.Mark()
		signInteraction(t, priv, f.overHTTP(f.click(testGuild, user, q, "ts1|c|"+user+"|icloud@1|on"))).sendAll(t, a, b)
		quietFor(t, f, 100*time.Millisecond)
		if n := len(f.callsSince(mark, "POST", "/api/v9/webhooks/*/*")); n != 1 {
			t.Errorf("round %d: the same click to 2 replicas: %d followups, want 1", i, n)
		}

		q = f.lastWithComponents(th, "ts1|t|"+user+"|size@1")
		mark = f.Mark()
		signInteraction(t, priv, f.overHTTP(f.submit(testGuild, user, q, "ts1|m|"+user+"|size@1|size", "3 GB"))).sendAll(t, a, b)
		quietFor(t, f, 100*time.Millisecond)
		if n := len(f.callsSince(mark, "POST", "/api/v9/webhooks/*/*")); n != 1 {
			t.Errorf("round %d: the same modal submit to 2 replicas: %d followups, want 1", i, n)
		}
	}
}
