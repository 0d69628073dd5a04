package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Slack's Web API limits as the fake enforces them (docs.slack.dev,
// "Rate limits": limits apply per method per app per workspace; Tier 3 is
// 50+ calls a minute, Tier 4 100+; chat.postMessage is a special tier of
// "one message per second per channel, short bursts >1 allowed", plus an
// unpublished workspace-wide limit of "several hundred messages per
// minute"). The burst sizes are not published: these are modest choices
// (people report bursts of 25 and more going through), so that a figure
// the fake accepts is one Slack would accept too.
var (
	// slackChannelPosts is chat.postMessage per channel, with
	// SlackAPIOptions.ChannelBurst when set. The default burst of 4 is the
	// Slack adapter's own guess; a smaller one tests how it copes with
	// a stricter Slack.
	slackChannelPosts = rateLimit{Rate: 1, Burst: 4}
	// slackTiers are the per-method limits of the other methods the bots
	// call, per minute (the tier's floor), with a minute's worth of burst.
	slackTiers = map[string]rateLimit{
		"auth.test":             perMinute(100), // Tier 4
		"chat.getPermalink":     perMinute(100), // Tier 4
		"chat.postEphemeral":    perMinute(100), // Tier 4
		"chat.update":           perMinute(50),  // Tier 3
		"conversations.replies": perMinute(50),  // Tier 3 (less for new non-Marketplace apps)
	}
)

func perMinute(n float64) rateLimit { return rateLimit{Rate: n / 60, Burst: n} }

// SlackAPIOptions configure NewSlackAPI.
type SlackAPIOptions struct {
	// Latency is added to every call before it is answered.
	Latency Latency
	// Limits makes the fake answer 429 with Retry-After, as Slack does,
	// to calls beyond Slack's published limits (see slackChannelPosts and
	// slackTiers).
	Limits bool
	// WorkspacePostsPerMinute, when above zero and Limits is set, also
	// limits chat.postMessage across the whole workspace (Slack says
	// "several hundred per minute" without a figure).
	WorkspacePostsPerMinute int
	// ChannelBurst, when above zero, is how many posts one channel may
	// take at once (default slackChannelPosts.Burst).
	ChannelBurst int
	// OnPost, when not nil, is handed each accepted chat.postMessage's
	// form. It must be safe for concurrent use.
	OnPost func(form url.Values)
}

// SlackAPI is a fake Slack Web API: the methods the Slack adapter (and a
// Bolt app) call, answered after the configured latency, within Slack's
// rate limits when asked. Its counters are safe to read at any time.
type SlackAPI struct {
	// Server is the running fake; its URL + "/" is the API base URL.
	Server *httptest.Server
	// Posted counts accepted chat.postMessage calls: replies Slack would
	// have shown.
	Posted atomic.Int64
	// Limited counts calls answered 429 (any method).
	Limited atomic.Int64

	opts SlackAPIOptions
	// now is the limits' clock (tests freeze it).
	now       func() time.Time
	ts        atomic.Int64
	channels  *limiter
	workspace *limiter
	tiers     map[string]*limiter

	mu        sync.Mutex
	watches   map[string]*channelWatch
	limitedBy map[string]int64 // 429s per method
}

// LimitedBy returns the 429s answered so far, per Web API method.
func (s *SlackAPI) LimitedBy() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.limitedBy)
}

// channelWatch counts accepted posts to one channel, for a sender waiting
// for the bot's answer.
type channelWatch struct {
	posts  atomic.Int64
	posted chan struct{} // signalled (without blocking) on each post
}

// watch starts counting channel's accepted posts; call unwatch when done.
func (s *SlackAPI) watch(channel string) *channelWatch {
	w := &channelWatch{posted: make(chan struct{}, 1)}
	s.mu.Lock()
	s.watches[channel] = w
	s.mu.Unlock()
	return w
}

func (s *SlackAPI) unwatch(channel string) {
	s.mu.Lock()
	delete(s.watches, channel)
	s.mu.Unlock()
}

// notify counts a post in a watched channel.
func (s *SlackAPI) notify(channel string) {
	s.mu.Lock()
	w := s.watches[channel]
	s.mu.Unlock()
	if w != nil {
		w.posts.Add(1)
		select {
		case w.posted <- struct{}{}:
		default:
		}
	}
}

// wait waits until the channel has more than n posts, ctx ends or limit
// passes; it reports whether the post came.
func (w *channelWatch) wait(ctx context.Context, n int64, limit time.Duration) bool {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for w.posts.Load() <= n {
		select {
		case <-w.posted:
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		}
	}
	return true
}

// NewSlackAPI starts a fake Slack Web API listening on addr (host:port;
// "" for a free loopback port). Close it with s.Server.Close.
func NewSlackAPI(addr string, opts SlackAPIOptions) (*SlackAPI, error) {
	perChannel := slackChannelPosts
	if opts.ChannelBurst > 0 {
		perChannel.Burst = float64(opts.ChannelBurst)
	}
	s := &SlackAPI{opts: opts, now: time.Now, watches: make(map[string]*channelWatch), limitedBy: make(map[string]int64), channels: newLimiter(perChannel), tiers: make(map[string]*limiter)}
	if opts.WorkspacePostsPerMinute > 0 {
		s.workspace = newLimiter(perMinute(float64(opts.WorkspacePostsPerMinute)))
	}
	for m, l := range slackTiers {
		s.tiers[m] = newLimiter(l)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("bench: fake Slack API: %w", err)
		}
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	s.Server = srv
	return s, nil
}

// FakeSlackAPI is the smallest Slack Web API the adapter needs: auth.test,
// posts, updates, permalinks and thread reads, at loopback speed and
// without limits. It counts posts in posted and, when onPost is not nil,
// hands each one's form to it.
func FakeSlackAPI(posted *atomic.Int64, onPost func(form url.Values)) *httptest.Server {
	s, err := NewSlackAPI("", SlackAPIOptions{OnPost: func(form url.Values) {
		posted.Add(1)
		if onPost != nil {
			onPost(form)
		}
	}})
	if err != nil {
		panic(err) // only a given addr can fail to listen; none is given
	}
	return s.Server
}

func (s *SlackAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.opts.Latency.sleep()
	method := strings.TrimPrefix(r.URL.Path, "/")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	reply := func(v map[string]any) {
		v["ok"] = true
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	if s.opts.Limits {
		if wait, limited := s.limited(method, r.Form.Get("channel"), s.now()); limited {
			s.Limited.Add(1)
			s.mu.Lock()
			s.limitedBy[method]++
			s.mu.Unlock()
			w.Header().Set("Retry-After", retryAfterSeconds(wait))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
			return
		}
	}
	switch method {
	case "auth.test":
		reply(map[string]any{"user_id": "UBENCHBOT", "bot_id": "BBENCH", "team_id": "TBENCH", "team": "bench", "user": "bench", "url": "https://bench.slack.com/"})
	case "chat.postMessage":
		s.Posted.Add(1)
		if s.opts.OnPost != nil {
			s.opts.OnPost(r.Form)
		}
		ch := r.Form.Get("channel")
		s.notify(ch)
		reply(map[string]any{"channel": ch, "ts": fmt.Sprintf("1700000000.%06d", s.ts.Add(1)),
			"message": map[string]any{"type": "message", "text": r.Form.Get("text"), "bot_id": "BBENCH"}})
	case "chat.getPermalink":
		reply(map[string]any{"permalink": "https://example.slack.com/archives/D1/p1700000000000001"})
	case "chat.update", "chat.postEphemeral":
		reply(map[string]any{})
	case "conversations.replies":
		reply(map[string]any{"messages": []any{}})
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
	}
}

// limited spends the call's budgets; it reports whether the call is over
// a limit and, if so, how long until it would be allowed. A post refused
// by the workspace limit has spent its channel's budget, as it would have
// reached Slack.
func (s *SlackAPI) limited(method, channel string, now time.Time) (time.Duration, bool) {
	if method == "chat.postMessage" {
		if ok, _, _, wait := s.channels.take(channel, now); !ok {
			return wait, true
		}
		if s.workspace != nil {
			if ok, _, _, wait := s.workspace.take("", now); !ok {
				return wait, true
			}
		}
		return 0, false
	}
	if l := s.tiers[method]; l != nil {
		if ok, _, _, wait := l.take("", now); !ok {
			return wait, true
		}
	}
	return 0, false
}
