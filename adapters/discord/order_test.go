package discord

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// orderHandler records, per conversation, the texts it was handed, and
// echoes each one.
type orderHandler struct {
	mu   sync.Mutex
	seen map[string][]string
}

func (o *orderHandler) Handle(_ context.Context, m bot.Message) (bot.Result, error) {
	o.mu.Lock()
	if o.seen == nil {
		o.seen = map[string][]string{}
	}
	o.seen[m.Address.Key()] = append(o.seen[m.Address.Key()], m.Text)
	o.mu.Unlock()
	return bot.Result{Replies: []bot.Reply{{Text: "echo " + m.Text}}, Step: "s"}, nil
}

// TestGatewayOrderPerConversation is issue 14's order and count check for
// gateway messages: conversations × messages DMs, dispatched back to back
// with every REST call taking 50 ms; each message is handled once, in the
// order sent in its conversation, and each gets exactly one reply, in
// that order. 1,000 × 10 is the size; under -race on a shared
// 2-core machine this runs 100 × 10 (short: 20 × 5).
func TestGatewayOrderPerConversation(t *testing.T) {
	conversations, perConv := 1000, 10
	switch {
	case testing.Short():
		conversations, perConv = 20, 5
	case raceEnabled:
		conversations = 100
	}
	f := newFakeDiscord(t)
	f.delay("POST", "/channels/", 50*time.Millisecond)
	cfg := testConfig(f)
	cfg.RequestsPerSecond = 1e6 // pacing has its own test; this one is about order
	h := &orderHandler{}
	runBot(t, f, cfg, h)
	dm := func(c int) string { return fmt.Sprintf("78%017d", c) }
	user := func(c int) string { return fmt.Sprintf("71%017d", c) }
	began := time.Now()
	for k := range perConv {
		for c := range conversations {
			f.dispatch("MESSAGE_CREATE", f.messageCreate("", dm(c), user(c), fmt.Sprintf("m%02d", k), false))
		}
	}
	var posted map[string][]fakeCall // by path, in the order received
	replies := func(c int) []string {
		var out []string
		for _, call := range posted["/api/v9/channels/"+dm(c)+"/messages"] {
			s, _ := call.JSON(t)["content"].(string)
			out = append(out, s)
		}
		return out
	}
	waitPosts(t, f, conversations*perConv, time.Minute)
	posted = map[string][]fakeCall{}
	for _, c := range f.Calls() {
		if c.Method == "POST" {
			posted[c.Path] = append(posted[c.Path], c)
		}
	}
	t.Logf("%d conversations × %d messages answered in %v", conversations, perConv, time.Since(began).Round(time.Millisecond))
	var want []string
	for k := range perConv {
		want = append(want, fmt.Sprintf("m%02d", k))
	}
	bad := 0
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range conversations {
		key := bot.Address{Platform: Platform, Channel: dm(c), User: user(c)}.Key()
		got := h.seen[key]
		rep := replies(c)
		wantRep := make([]string, len(want))
		for k, w := range want {
			wantRep[k] = "echo " + w
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || strings.Join(rep, ",") != strings.Join(wantRep, ",") {
			if bad++; bad <= 3 {
				t.Errorf("conversation %d: handled %v, replied %v; want %v, once each, in order", c, got, rep, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d conversations out of order or not answered exactly once", bad, conversations)
	}
}

// TestGatewayReadingDoesNotWaitForReplies: with every REST call held
// back, 50 DM conversations × 2 messages are all read off the gateway
// (a handler registered after the adapter's sees each one, on the same
// reading goroutine) before any reply can be sent; once REST is let
// through, every message is answered once.
func TestGatewayReadingDoesNotWaitForReplies(t *testing.T) {
	const conversations, perConv = 50, 2
	f := newFakeDiscord(t)
	cfg := testConfig(f)
	cfg.RequestsPerSecond = 1e6
	a, err := New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	next := a.session.Client.Transport
	a.session.Client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == "POST" && strings.Contains(r.URL.Path, "/channels/") {
			<-gate
		}
		return next.RoundTrip(r)
	})
	var read atomic.Int64
	allRead := make(chan struct{})
	a.session.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
		if m.Author != nil && m.Author.ID != f.botID && read.Add(1) == conversations*perConv {
			close(allRead)
		}
	})
	h := &orderHandler{}
	runAdapter(t, f, a, h)
	for k := range perConv {
		for c := range conversations {
			f.dispatch("MESSAGE_CREATE", f.messageCreate("", fmt.Sprintf("79%017d", c), fmt.Sprintf("73%017d", c), fmt.Sprintf("m%d", k), false))
		}
	}
	select {
	case <-allRead:
	case <-time.After(15 * time.Second): // a hang guard, not a timing
		t.Fatalf("only %d of %d messages were read while replies were held back", read.Load(), conversations*perConv)
	}
	if n := len(f.callsSince(0, "POST", "/api/v9/channels/*/messages")); n != 0 {
		t.Fatalf("%d replies went through a closed gate", n)
	}
	close(gate)
	waitPosts(t, f, conversations*perConv, 30*time.Second)
	if n := len(f.callsSince(0, "POST", "/api/v9/channels/*/messages")); n != conversations*perConv {
		t.Errorf("%d replies to %d messages", n, conversations*perConv)
	}
}

// waitPosts waits until the fake has recorded n channel message posts,
// failing after limit (a hang guard for big runs, wider than waitFor's).
func waitPosts(t *testing.T, f *fakeDiscord, n int, limit time.Duration) {
	t.Helper()
	count := func() int {
		k := 0
		for _, c := range f.Calls() {
			if c.Method == "POST" && strings.HasSuffix(c.Path, "/messages") {
				k++
			}
		}
		return k
	}
	for deadline := time.Now().Add(limit); count() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d replies posted after %v", count(), n, limit)
		}
	}
}
