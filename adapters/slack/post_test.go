package slack

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newPacer(time.Second, 2).withTiers(map[string]tier{
		"conversations.replies": {perMinute: 60, burst: 1},
		"chat.update":           {perMinute: 60, burst: 1},
	})
	p.now = func() time.Time { return now }
	// want is one reserve's answer: wait d; booked (the call goes after d)
	// or not (ask again after d); or err.
	type want struct {
		d      time.Duration
		booked bool
		err    error
	}
	step := func(what, method, channel string, w want) {
		t.Helper()
		d, booked, err := p.reserve(method, channel)
		if d != w.d || booked != w.booked || !errors.Is(err, w.err) {
			t.Fatalf("%s: reserve(%s, %s) = %v, %v, %v; want %v, %v, %v", what, method, channel, d, booked, err, w.d, w.booked, w.err)
		}
	}
	post := "chat.postMessage"
	step("first", post, "C1", want{0, true, nil})
	step("burst", post, "C1", want{0, true, nil})
	step("third", post, "C1", want{time.Second, false, nil})
	step("other channel", post, "C2", want{0, true, nil})
	step("an ephemeral shares the channel's messages", "chat.postEphemeral", "C1", want{time.Second, false, nil})
	now = now.Add(500 * time.Millisecond)
	step("half refilled", post, "C1", want{500 * time.Millisecond, false, nil})
	now = now.Add(500 * time.Millisecond)
	step("refilled", post, "C1", want{0, true, nil})
	// A tier's method is paced per workspace, whatever the channel: the
	// second call is booked a second later (60 a minute).
	step("tier: first", "conversations.replies", "C7", want{0, true, nil})
	step("tier: booked behind it", "conversations.replies", "C8", want{time.Second, true, nil})
	// An edit over its budget is skipped, not delayed.
	step("edit", "chat.update", "C1", want{0, true, nil})
	step("edit over budget", "chat.update", "C2", want{0, false, errSkipped})
	if n := p.skipped.Load(); n != 1 {
		t.Errorf("%d edits counted as skipped, want 1", n)
	}
	// A 429 pauses its method on every channel, and only its method.
	p.hold(post, 3*time.Second)
	step("after a 429", post, "C9", want{3 * time.Second, false, nil})
	step("another method after a 429", "chat.getPermalink", "C9", want{0, true, nil})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx, post, "C9"); err == nil {
		t.Fatal("wait ignored its context")
	}
}

// TestPacingPerChannel: posts to one channel are spaced by the pacer's
// interval (TestPacer checks that channels are paced independently). The
// edit of a clicked question is not paced with them (issue 16, item 14:
// chat.update has its own rate limit, and an edit must not hold up the
// next question), so it is not counted.
func TestPacingPerChannel(t *testing.T) {
	const interval = 250 * time.Millisecond
	e := newEnvFull(t, ModeHTTP, nil, nil, nil, func(a *Adapter) { a.pace = newPacer(interval, 1) })
	start := time.Now()
	_, q, from := e.start("U1", "C1", "whatsapp backup fails") // root + question: 2 posts to C1
	e.answer(q, "click:on", "U1", from)                        // the next question: 1 more
	calls, _ := e.fake.snapshot()
	var c1 []time.Time
	for _, c := range calls {
		if c.Form.Get("channel") == "C1" && c.Method == "chat.postMessage" {
			c1 = append(c1, c.At)
		}
	}
	if len(c1) != 3 {
		t.Fatalf("%d posts to C1, want 3:%s", len(c1), describe(calls))
	}
	for i := 1; i < len(c1); i++ {
		if gap := c1[i].Sub(c1[i-1]); gap < interval-20*time.Millisecond {
			t.Errorf("posts %d and %d to C1 only %v apart", i-1, i, gap)
		}
	}
	if total := c1[2].Sub(start); total < 2*interval-40*time.Millisecond {
		t.Errorf("3 posts to C1 took only %v", total)
	}
}

// TestRateLimitHonoured: a 429 with Retry-After: 1 from the fake delays the
// retry by at least a second, and the message is then posted once.
func TestRateLimitHonoured(t *testing.T) {
	e := newEnv(t, ModeSocket, nil, nil)
	e.fake.limit("chat.postMessage", 1)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "whatsapp backup fails")), 0)
	ok, _ := e.fake.waitFor(0, "the post after the 429", isPost("D1", ""))
	limited, _ := e.fake.waitFor(0, "the 429", func(c apiCall) bool { return c.Status == 429 })
	if d := ok.At.Sub(limited.At); d < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", d)
	}
	if n := e.fake.count(isPost("D1", "")); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

// TestRateLimitStorm: the fake answers 429 (Retry-After: 1) to the next 6
// posts while two conversations talk. Every retry waits out Retry-After
// (no tight loop: the requests are bounded and spaced), the pause holds
// for every channel, a post is given up after maxRetries429 retries, the
// next one gets through once the storm ends, and the API error hook hears
// each 429.
func TestRateLimitStorm(t *testing.T) {
	const storm = 6
	var hooked atomic.Int64
	e := newEnvOpts(t, ModeHTTP, envOpts{flow: echoFlow{}, tune: func(a *Adapter) {
		a.SetAPIErrorHook(func(rl bool) {
			if rl {
				hooked.Add(1)
			}
		})
	}})
	start := time.Now()
	e.fake.limit("chat.postMessage", storm)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "first")), 0)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "D2", "", e.ts(), "second")), 0)
	// After the storm, each conversation speaks once more: both get through.
	e.fake.waitFor(0, "the end of the storm", func(c apiCall) bool { return c.Method == "chat.postMessage" && c.Status == 200 })
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U1", "D1", "", e.ts(), "third")), 0)
	e.tr.event(t, eventPayload(e.id("Ev"), messageEvent("U2", "D2", "", e.ts(), "fourth")), 0)
	for _, ch := range []string{"D1", "D2"} {
		e.fake.waitFor(0, "a post to "+ch+" after the storm", func(c apiCall) bool {
			return isPost(ch, "")(c) && (strings.Contains(c.Form.Get("text"), "third") || strings.Contains(c.Form.Get("text"), "fourth"))
		})
	}
	elapsed := time.Since(start)
	calls, _ := e.fake.snapshot()
	var posts []apiCall
	for _, c := range calls {
		if c.Method == "chat.postMessage" {
			posts = append(posts, c)
		}
	}
	// The gap that matters is a conversation's retry after its 429 (two
	// workers' requests may well hit the fake together).
	delivered := 0
	lastLimited := map[string]time.Time{}
	minGap := time.Hour
	for _, c := range posts {
		ch := c.Form.Get("channel")
		if at, ok := lastLimited[ch]; ok {
			minGap = min(minGap, c.At.Sub(at))
			delete(lastLimited, ch)
		}
		if c.Status == 429 {
			lastLimited[ch] = c.At
		} else {
			delivered++
		}
	}
	// Two first posts, each tried at most 1+maxRetries429 times, plus the
	// two after the storm (and a first post that outlived the storm).
	if max := 2*(1+maxRetries429) + 2; len(posts) > max {
		t.Errorf("%d post requests in a storm of %d 429s, want at most %d", len(posts), storm, max)
	}
	if minGap < 950*time.Millisecond {
		t.Errorf("a request went out %v after a 429 with Retry-After: 1", minGap)
	}
	if got := hooked.Load(); got != storm {
		t.Errorf("the API error hook heard %d rate limits, want %d", got, storm)
	}
	if n := e.fake.count(func(c apiCall) bool { return c.Status == 429 }); n != storm {
		t.Errorf("%d 429s answered, want %d", n, storm)
	}
	t.Logf("429 storm: %d 429s, %d post requests, %d delivered, min gap after a 429 %v, %v total",
		storm, len(posts), delivered, minGap.Round(time.Millisecond), elapsed.Round(time.Millisecond))
}

// TestPacingLeavesRoomForJitter: posts leave the pacer at the times it
// allows, but reach Slack late by up to 0.6 s of jitter (scheduling,
// connections). A model of Slack's per-channel limit (a bucket of 4 posts
// refilled at one a second, counted at arrival) refuses none of the
// adapter's default pacing, which keeps a token in reserve; the same
// pacing with the full burst of 4 (the control) is refused.
func TestPacingLeavesRoomForJitter(t *testing.T) {
	refusals := func(burst int) int {
		now := time.Unix(1000, 0)
		p := newPacer(defaultInterval, burst)
		p.now = func() time.Time { return now }
		var arrivals []time.Time
		for k := 0; len(arrivals) < 40; {
			d, booked, err := p.reserve("chat.postMessage", "C1")
			if err != nil {
				t.Fatal(err)
			}
			if !booked {
				now = now.Add(d)
				continue
			}
			jitter := time.Duration(k*7%10) * 90 * time.Millisecond // 0 to 0.81 s, scrambled
			arrivals = append(arrivals, now.Add(d+jitter))
			k++
		}
		slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
		slack := newPacer(time.Second, 4) // Slack's bucket, at arrival
		refused := 0
		for _, at := range arrivals {
			slack.now = func() time.Time { return at }
			if _, booked, _ := slack.reserve("chat.postMessage", "C1"); !booked {
				refused++
			}
		}
		return refused
	}
	if n := refusals(defaultBurst); n != 0 {
		t.Errorf("Slack's bucket refused %d of 40 posts paced with the default burst %d", n, defaultBurst)
	}
	if n := refusals(4); n == 0 {
		t.Error("control: with a burst of 4, the jitter got no refusals; the model no longer shows why a token is kept in reserve")
	}
}

// TestDefaultTiers: the adapter paces every method it calls that has a
// published tier, at no more than the tier's floor (Tier 3: 50 a minute,
// Tier 4: 100), as the bench's fake Web API enforces.
func TestDefaultTiers(t *testing.T) {
	ad := testAdapter(t)
	for method, perMinute := range map[string]float64{
		"chat.update": 50, "conversations.replies": 50, "chat.getPermalink": 100, "chat.postEphemeral": 100,
	} {
		lim := ad.pace.tiers[method]
		if lim == nil {
			t.Errorf("%s is not paced per workspace", method)
			continue
		}
		if got := float64(lim.Limit()) * 60; got > perMinute {
			t.Errorf("%s paced at %.0f a minute, above its tier's %.0f", method, got, perMinute)
		}
	}
}

// TestPacerForgetsChannelsInAmortizedTime: a stream of new channels (each
// a person's first DM) faster than their buckets refill keeps more than
// the prune threshold alive at once. Pruning then finds little to drop;
// it must not run again on every new channel (a scan of every bucket,
// under the lock all posts share: 13 % of serve's CPU at 4k posts/s).
func TestPacerForgetsChannelsInAmortizedTime(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := newPacer(time.Second, 4) // a bucket refills in 4 s
	p.now = func() time.Time { return now }
	const channels, perSecond = 30_000, 3_000 // ~12k buckets refilling at once
	for i := range channels {
		if i%(perSecond/10) == 0 {
			now = now.Add(100 * time.Millisecond)
		}
		if _, _, err := p.reserve("chat.postMessage", "D"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if p.prunes > 20 {
		t.Errorf("%d new channels pruned the buckets %d times: each prune scans them all", channels, p.prunes)
	}
	// Buckets that refilled are still forgotten: memory stays bounded.
	if n := len(p.buckets); n > 2*4*perSecond+pruneAbove/10 {
		t.Errorf("%d buckets kept for %d channels, ~%d of them refilling", n, channels, 4*perSecond)
	}
	now = now.Add(time.Hour)
	for i := range 3 * pruneAbove {
		if _, _, err := p.reserve("chat.postMessage", "C"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(p.buckets); n > 3*pruneAbove {
		t.Errorf("an hour later, %d buckets kept; the old ones should have gone", n)
	}
}
