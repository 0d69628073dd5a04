package discord

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/adapters/boltstore"
	"troubleshooter/bot"
)

// TestGatewayMessagesAcrossShutdown is issue 13's delivery proof for DM
// messages over the gateway, at package level: 400 DM messages (each a
// new conversation) are dispatched to a running adapter over the real
// engine and a bolt file; right after the last one its context is
// canceled (what SIGTERM does to `serve`: the gateway closes, the turns
// taken finish within the grace), then a new adapter and engine start over
// the same bolt file and sweep. Discord never redelivers a gateway event,
// so every message dispatched must get its reply — from the stopping
// adapter or the next engine's outbox sweeper — and none more than twice.
func TestGatewayMessagesAcrossShutdown(t *testing.T) {
	const n = 400
	const question = "allowed to use iCloud"
	path := filepath.Join(t.TempDir(), "bot.db")
	f := newFakeDiscord(t)
	dm := func(i int) string { return fmt.Sprintf("77%017d", i) }
	user := func(i int) string { return fmt.Sprintf("70%017d", 1000+i) }
	var read sync.Map // DM channel → the client read its message
	// dead is set once a "process" exited: its goroutines post no more.
	start := func(st bot.Store, dead *atomic.Bool) (*Adapter, *bot.Engine, context.CancelFunc, chan error) {
		a, err := New(testConfig(f), testLog(t))
		if err != nil {
			t.Fatal(err)
		}
		a.SetShutdownGrace(10 * time.Second)
		// A slow Discord: posts take 0.2–1.5 s, longer than the gateway
		// takes to close, so turns are still posting when Run waits.
		next := a.session.Client.Transport
		a.session.Client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == "POST" && strings.Contains(r.URL.Path, "/channels/") {
				time.Sleep(time.Duration(200+rand.IntN(1300)) * time.Millisecond)
			}
			if dead.Load() {
				return nil, errors.New("the process has exited")
			}
			return next.RoundTrip(r)
		})
		// Messages the gateway client read.
		a.session.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { read.Store(m.ChannelID, true) })
		e := bot.NewEngine(st, testFlow{}, bot.EngineConfig{}, nil)
		e.KeepOutbox(Platform, 300*time.Millisecond)
		e.SetSender(Platform, a)
		a.SetConfirmer(e)
		f.mu.Lock()
		k := len(f.identifies)
		f.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx, e) }()
		f.waitConnected(k + 1)
		return a, e, cancel, done
	}
	answered := func(i int) int {
		c := 0
		for _, call := range f.callsSince(0, "POST", "/api/v9/channels/"+dm(i)+"/messages") {
			if s, _ := call.JSON(t)["content"].(string); strings.Contains(s, question) {
				c++
			}
		}
		return c
	}
	count := func() (posted, lost, twice, more int) {
		for i := range n {
			_, wasRead := read.Load(dm(i))
			switch c := answered(i); {
			case c == 0 && wasRead:
				lost++
			case c == 2:
				twice++
			case c > 2:
				more++
			}
		}
		for i := range n {
			if answered(i) > 0 {
				posted++
			}
		}
		return posted, lost, twice, more
	}

	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var dead1, dead2 atomic.Bool
	_, _, cancel, done := start(st, &dead1)
	began := time.Now()
	for i := range n {
		f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm(i), user(i), "hi, my whatsapp backup fails", false))
	}
	dispatched := time.Since(began)
	// Cancel right after the client read the last one (Discord's gateway
	// has no ack: a message is taken once read).
	nRead := func() int {
		k := 0
		read.Range(func(_, _ any) bool { k++; return true })
		return k
	}
	for deadline := time.Now().Add(10 * time.Second); nRead() < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	postedAtStop, _, _, _ := count()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20 s of its context's end")
	}
	dead1.Store(true)
	postedAtExit, _, _, _ := count()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The next process over the same file: its sweeper sends what was
	// saved but not sent.
	st, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	_, e2, cancel2, done2 := start(st, &dead2)
	defer func() { cancel2(); <-done2 }()
	restarted := time.Now()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := e2.Sweep(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if _, lost, _, _ := count(); lost == 0 {
			break
		}
	}
	caughtUp := time.Since(restarted)
	time.Sleep(400 * time.Millisecond) // a second copy, if any, would come now
	if _, err := e2.Sweep(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_, lost, twice, more := count()
	t.Logf("%d DM messages dispatched over the gateway in %v, %d read by the client before its gateway closed; replies sent when the context ended %d, when Run returned %d; after the restart (caught up in %v): %d of those read lost, %d sent twice, %d more than twice",
		n, dispatched.Round(time.Millisecond), nRead(), postedAtStop, postedAtExit, caughtUp.Round(10*time.Millisecond), lost, twice, more)
	if lost > 0 {
		t.Errorf("%d of the %d DM messages read from the gateway never got their reply", lost, nRead())
	}
	if nRead() < n {
		t.Errorf("only %d of %d messages were read before the gateway closed", nRead(), n)
	}
	if postedAtExit < nRead() {
		t.Errorf("only %d of %d replies were sent when Run returned; a graceful stop finishes the turns it took", postedAtExit, nRead())
	}
	if twice > 0 {
		t.Errorf("%d messages got their reply twice after a graceful stop", twice)
	}
	if more > 0 {
		t.Errorf("%d messages got their reply more than twice", more)
	}
}
