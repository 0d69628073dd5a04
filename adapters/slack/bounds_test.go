package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// postWaves posts waves × n messages through post, n at once: the fake
// holds each wave's posts until all n arrived, so that each wave really
// has n calls in flight together.
func postWaves(t *testing.T, f *fakeSlack, waves, n int, post func(ctx context.Context, channel string) error) {
	t.Helper()
	for w := range waves {
		release := f.holdCalls("chat.postMessage")
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs <- post(ctxFor(t, 20*time.Second), fmt.Sprintf("D%d", i)) })
		}
		f.waitUntil(fmt.Sprintf("wave %d: %d posts held at once", w, n), func() bool { return f.held.Load() == int64(n) })
		release()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("wave %d: %v", w, err)
			}
		}
	}
}

// TestSharedTransportKeepsConnections: the adapter's Web API client keeps
// a connection alive for every post in flight, so a second wave of 64
// concurrent posts reuses the first wave's 64 connections and opens none.
// slack-go's default client (http.DefaultClient: 2 idle connections per
// host) is run the same way as a control, to show the test can fail: it
// opens about 62 more in the second wave, each a TLS handshake with real
// Slack.
func TestSharedTransportKeepsConnections(t *testing.T) {
	const n = 64
	fake := newFakeSlack(t)
	ad, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: testSecret, APIURL: fake.APIURL()}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	postWaves(t, fake, 2, n, func(ctx context.Context, channel string) error {
		_, err := ad.post(ctx, channel, "", note("hello"))
		return err
	})
	if got := fake.newConns.Load(); got > n {
		t.Errorf("the adapter opened %d connections for 2 waves of %d concurrent posts, want at most %d (kept alive and reused)", got, n, n)
	}
	if tr := ad.transport; !tr.ForceAttemptHTTP2 || tr.MaxIdleConnsPerHost < ad.cfg.MaxPostsInFlight || tr.IdleConnTimeout == 0 || tr.TLSHandshakeTimeout == 0 {
		t.Errorf("transport not sized for %d posts in flight: %+v", ad.cfg.MaxPostsInFlight, tr)
	}

	control := newFakeSlack(t)
	api := slack.New("xoxb-test", slack.OptionAPIURL(control.APIURL()))
	postWaves(t, control, 2, n, func(ctx context.Context, channel string) error {
		_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("hello", false))
		return err
	})
	if got := control.newConns.Load(); got <= n {
		t.Errorf("control: slack-go's default client opened only %d connections for 2 waves of %d posts; this test no longer tells the sized transport from the default", got, n)
	}
	t.Logf("2 waves × %d concurrent posts: adapter %d new connections, slack-go default client %d", n, fake.newConns.Load(), control.newConns.Load())
}

// TestInFlightBound: with max_posts_in_flight 4, 20 posts at once reach
// the Web API 4 at a time; the other 16 wait for a slot, and Stats says so
// (the bound was reached 16 times).
func TestInFlightBound(t *testing.T) {
	const bound, posts = 4, 20
	fake := newFakeSlack(t)
	ad, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: testSecret, APIURL: fake.APIURL(), MaxPostsInFlight: bound}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	release := fake.holdCalls("chat.postMessage")
	var wg sync.WaitGroup
	errs := make(chan error, posts)
	for i := range posts {
		wg.Go(func() {
			_, err := ad.post(ctxFor(t, 20*time.Second), fmt.Sprintf("D%d", i), "", note("hello"))
			errs <- err
		})
	}
	fake.waitUntil("4 posts held and 16 waiting for a slot", func() bool {
		return fake.held.Load() == bound && ad.Stats().SlotWaiting == posts-bound
	})
	st := ad.Stats()
	if st.InFlight != bound || st.SlotWaits != posts-bound {
		t.Errorf("while held: %+v; want %d in flight and %d waits", st, bound, posts-bound)
	}
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := fake.peak.Load(); p != bound {
		t.Errorf("the fake saw %d calls at once, want %d", p, bound)
	}
	if st := ad.Stats(); st.InFlightPeak != bound || st.InFlight != 0 || st.SlotWaiting != 0 {
		t.Errorf("after: %+v", st)
	}
}

// TestQueueFullRefusesDeliveries: with max_queued_turns 2 and posting
// held, two DM events are acknowledged and a third is refused with 503
// (Slack delivers it again), counted in Stats; once the queue drains, the
// redelivered third is acknowledged and each of the three is answered
// once.
func TestQueueFullRefusesDeliveries(t *testing.T) {
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}, cfg: func(c *Config) { c.MaxQueuedTurns = 2 }})
	release := e.fake.holdCalls("chat.postMessage")
	url := e.tr.(*httpTransport).srv.URL + "/slack/events"
	deliver := func(i int) int {
		body, _ := json.Marshal(eventPayload(fmt.Sprintf("EvFull%d", i), messageEvent(fmt.Sprintf("UF%d", i), fmt.Sprintf("DF%d", i), "", fmt.Sprintf("1700003000.%06d", i), "hello")))
		code, _ := signedPost(t, url, "application/json", body, testSecret, time.Now(), nil)
		return code
	}
	for i := range 2 {
		if code := deliver(i); code != http.StatusOK {
			t.Fatalf("delivery %d = %d, want 200", i, code)
		}
	}
	if code := deliver(2); code != http.StatusServiceUnavailable {
		t.Fatalf("delivery beyond max_queued_turns = %d, want 503", code)
	}
	if st := e.ad.Stats(); st.RefusedFull != 1 || st.Refused != 1 || st.QueuedTurns != 2 {
		t.Errorf("stats at the bound: %+v; want 1 refused and 2 queued", st)
	}
	release()
	e.fake.waitUntil("the queue drained", func() bool { return e.ad.Stats().QueuedTurns == 0 })
	if code := deliver(2); code != http.StatusOK {
		t.Fatalf("redelivery after the queue drained = %d, want 200", code)
	}
	for i := range 3 {
		e.fake.waitFor(0, fmt.Sprintf("the answer to DF%d", i), isPost(fmt.Sprintf("DF%d", i), ""))
	}
	e.fake.waitUntil("the queue drained again", func() bool { return e.ad.Stats().QueuedTurns == 0 })
	for i := range 3 {
		// echoFlow's answer (the echo and its question) is one post.
		if n := e.fake.count(isPost(fmt.Sprintf("DF%d", i), "")); n != 1 {
			t.Errorf("DF%d got %d posts, want 1 (one answer)", i, n)
		}
	}
}

// TestAcksNeverWaitForPosts: time-to-ack does not depend on the Web API at
// all. Every chat.postMessage is held unanswered by the fake, and every
// event is still acknowledged (HTTP 200, or the Socket Mode ack): ten
// people's first messages, and three messages in a row from one person,
// whose later turns do not wait for the earlier turns' posts either. Only
// then are the posts let through, and every message is answered. The
// order of events is asserted, not timings: while posts are held, none
// can complete.
func TestAcksNeverWaitForPosts(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnvOpts(t, mode, envOpts{flow: echoFlow{}})
			release := e.fake.holdCalls("chat.postMessage")
			for i := range 10 {
				e.tr.event(t, eventPayload(e.id("Ev"), messageEvent(fmt.Sprintf("UA%d", i), fmt.Sprintf("DA%d", i), "", e.ts(), "hello")), 0)
			}
			for i := range 3 {
				e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("UB", "DB", "", e.ts(), fmt.Sprintf("message %d", i))), 0)
			}
			// Every ack is in (tr.event returns once acknowledged), and
			// no post has been answered.
			if n := e.fake.count(isMethod("chat.postMessage")); n != 0 {
				t.Fatalf("%d posts answered while all were held", n)
			}
			release()
			for i := range 10 {
				e.fake.waitFor(0, "the answer in DA"+fmt.Sprint(i), isPost(fmt.Sprintf("DA%d", i), ""))
			}
			e.fake.waitUntil("the 3 answers in DB", func() bool { return e.fake.count(isPost("DB", "")) == 3 })
		})
	}
}

// escalateFlow hands every conversation to staff at its first message.
type escalateFlow struct{ echoFlow }

func (escalateFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	s.Guide, s.GuideVersion, s.Step = "echo", "1", "end"
	return bot.Turn{Replies: []bot.Reply{{Text: "Let me find you a person."}},
		Handoff: &bot.Handoff{Key: s.Key, Address: m.Address, Guide: "echo", GuideTitle: "Echo", Summary: "They said: " + m.Text, Started: m.Time, At: m.Time}}, nil
}

// TestHandoffDoesNotHoldTheAck: the engine posts a handoff to the support
// channel inside the escalating turn, after saving it. The delivery is
// acknowledged while that post is still held unanswered by the fake (in
// both modes), and once Slack answers, the handoff is posted and the
// person told that a person will reply: the post was not cut short by the
// delivery's 3 seconds (which would have said HandoffDelayedNotice and
// left the handoff to the sweeper a minute later).
func TestHandoffDoesNotHoldTheAck(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnvOpts(t, mode, envOpts{flow: escalateFlow{}, cfg: withSupport(""), handoff: true})
			release := e.fake.holdCalls("chat.postMessage")
			e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("UH", "DH", "", e.ts(), "I need a person")), 0)
			// Acknowledged (tr.event returned); the handoff post is
			// waiting on Slack.
			e.fake.waitUntil("the handoff post held", func() bool { return e.fake.held.Load() == 1 })
			if n := e.fake.count(isMethod("chat.postMessage")); n != 0 {
				t.Fatalf("%d posts answered while all were held", n)
			}
			release()
			e.fake.waitFor(0, "the handoff in the support channel", isPost(supportChannel, ""))
			told, _ := e.fake.waitFor(0, "the person's notice", isPost("DH", ""))
			// HandoffNotice, not HandoffDelayedNotice ("I'm having
			// trouble reaching our support team…").
			if got := textOf(t, told); !strings.Contains(got, "passed your answers to our support team") {
				t.Errorf("the person was told %q, want the handoff notice", got)
			}
		})
	}
}

// TestRefusedDeliveryGivesBackItsRoom: a delivery refused because its
// conversation's lock did not come within the ack budget gives back the
// queue room it reserved (else every such refusal would shrink
// max_queued_turns for good).
func TestRefusedDeliveryGivesBackItsRoom(t *testing.T) {
	ad := testAdapter(t)
	ad.work.open()
	ad.ackBudget = 20 * time.Millisecond
	unlock, err := ad.locks.lockCtx(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	err = ad.accept(context.Background(), &delivery{id: "EvLocked", key: "k", do: func(context.Context) {
		t.Error("ran without its lock")
	}})
	if err == nil {
		t.Fatal("accepted without its conversation's lock")
	}
	if st := ad.Stats(); st.QueuedTurns != 0 {
		t.Errorf("%d turns' room still reserved after the refusal, want 0", st.QueuedTurns)
	}
}

// TestSlashCommandAckDoesNotWaitForTheThread: /troubleshoot in a channel
// posts the thread's first message before the conversation's turn (the
// thread is the conversation). The command is acknowledged while that post
// is held unanswered (both modes), and once Slack answers, the thread is
// opened and its first question asked: the post was not cut short by the
// delivery's 3 seconds.
func TestSlashCommandAckDoesNotWaitForTheThread(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := newEnvOpts(t, mode, envOpts{flow: echoFlow{}})
			release := e.fake.holdCalls("chat.postMessage")
			e.tr.slash(t, slashPayload("U1", "C1", "hello", e.id("trigger"), e.fake.srv.URL+"/api/response_url"))
			e.fake.waitUntil("the thread's first message held", func() bool { return e.fake.held.Load() == 1 })
			release()
			root, i := e.fake.waitFor(0, "the thread's first message", isPost("C1", ""))
			e.fake.waitFor(i+1, "the first question in the thread", isPost("C1", root.TS))
		})
	}
}

// TestShutdownDoesNotWaitForAHeldHandoff: a handoff still being posted
// after its delivery was acknowledged ends with the shutdown grace: Run
// returns although Slack never answers the post (before, Run waited for
// the post's own 30 s), and the handoff stays pending for the sweeper.
func TestShutdownDoesNotWaitForAHeldHandoff(t *testing.T) {
	// api_timeout is set long, so that only the grace can end the post.
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: escalateFlow{}, handoff: true,
		cfg:  func(c *Config) { withSupport("")(c); c.APITimeout = time.Minute },
		tune: func(a *Adapter) { a.SetShutdownGrace(100 * time.Millisecond) }})
	release := e.fake.holdCalls("chat.postMessage")
	defer release()
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("UH", "DH", "", e.ts(), "I need a person")), 0)
	e.fake.waitUntil("the handoff post held", func() bool { return e.fake.held.Load() == 1 })
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run waited for a handoff post Slack never answered")
	}
	s, err := e.store.Load(ctxFor(t, 5*time.Second), bot.Address{Platform: Platform, Workspace: "T1", Channel: "DH", User: "UH"}.Key())
	if err != nil || s == nil || s.PendingHandoff == nil {
		t.Errorf("after the cut post: session %+v, %v; want the handoff still pending", s, err)
	}
}

// TestSocketQueueFullCountsRefused: in Socket Mode a delivery beyond
// max_queued_turns is left unacknowledged (Slack sends it again), and
// counts in Stats.Refused as a 503 does over HTTP, so the refused-delivery
// metric is the same in both modes.
func TestSocketQueueFullCountsRefused(t *testing.T) {
	e := newEnvOpts(t, ModeSocket, envOpts{flow: echoFlow{}, cfg: func(c *Config) { c.MaxQueuedTurns = 2 }})
	release := e.fake.holdCalls("chat.postMessage")
	defer release()
	payload := func(i int) map[string]any {
		return eventPayload(fmt.Sprintf("EvSockFull%d", i), messageEvent(fmt.Sprintf("US%d", i), fmt.Sprintf("DS%d", i), "", fmt.Sprintf("1700004000.%06d", i), "hello"))
	}
	for i := range 2 {
		e.tr.event(t, payload(i), 0) // acknowledged
	}
	// The third is never acknowledged: sent without waiting for an ack.
	if err := e.tr.(*socketTransport).c().write(map[string]any{"envelope_id": "env-EvSockFull2", "type": "events_api", "payload": payload(2)}); err != nil {
		t.Fatal(err)
	}
	e.fake.waitUntil("the third delivery refused", func() bool { return e.ad.Stats().RefusedFull == 1 })
	if st := e.ad.Stats(); st.Refused != 1 {
		t.Errorf("Socket Mode refusal at the bound: Refused %d, RefusedFull %d; want both 1", st.Refused, st.RefusedFull)
	}
}
