// Package slack is the Slack adapter: people in a Slack workspace run the
// guides with the bot over Socket Mode (the default, no public URL) or the
// HTTP Events API, with questions rendered as Block Kit buttons.
//
// A conversation starts with the /troubleshoot slash command, a mention of
// the bot in a channel, or a direct message. In a channel it lives in a
// thread (one conversation per thread); in a DM it is flat. Only the person
// who started a conversation can answer it.
//
// With a support channel configured, escalated conversations are posted
// there for staff (PostHandoff) with a Close button that hands the
// conversation back to the bot; the engine's sweeper sends its reminders
// through Send. Staff and anyone else writing in a person's thread are
// ignored.
//
// A delivery is acknowledged only once its turn is saved (see queue.go):
// the turn runs at once, within Slack's 3 seconds, and a turn that fails
// or cannot finish in time is refused so that Slack delivers it again.
// The replies are posted afterwards, in order per conversation, and
// confirmed to the engine, whose outbox sweeper posts whatever a crash or
// a deploy left unposted. Every delivery id (event_id, trigger_id) is
// handled once per process, and the engine's durable dedupe covers
// redeliveries across restarts.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// Platform is the Address.Platform of Slack conversations.
const Platform = "slack"

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// Tuning; tests shorten some of these through the unexported fields.
const (
	ackBudget       = 2500 * time.Millisecond // a delivery's turn must be saved within this, inside Slack's 3 s
	jobTimeout      = 30 * time.Second        // bound on one turn's posting
	maxSocketJobs   = 256                     // Socket Mode deliveries run at once; more are left unacknowledged
	defaultGrace    = 10 * time.Second        // shutdown grace for posts when main sets none
	maxRetries429   = 3                       // retries of one API call after 429s
	dedupeTTL       = 15 * time.Minute        // Slack retries within minutes
	defaultInterval = time.Second             // chat.postMessage ≈ 1/s per channel
	// defaultBurst is one less than the burst of 4 Slack is taken to
	// allow per channel (it publishes none): the pacer times a post when it
	// leaves, Slack counts it when it arrives, and scheduling and
	// connection jitter between the two made an exact bucket run into
	// 429s (bench --turns 5 at 50 ms: 30–47 429s a run with 4, none with
	// 3). The token kept in reserve absorbs up to a second of jitter.
	defaultBurst = 3
)

// Adapter is the Slack adapter. Create it with New; it is safe for
// concurrent use. Run and HTTPHandler may be used together (HTTP mode):
// HTTPHandler takes deliveries while Run runs.
type Adapter struct {
	cfg Config
	log *slog.Logger
	api *slack.Client

	seen    *dedupe
	locks   keyedLocks
	work    tracker
	posts   *postQueues
	sockets chan struct{} // Socket Mode deliveries in progress
	// confirmer is told when a turn's replies were posted (SetConfirmer);
	// without one, the handler is asked (bot.OutboxConfirmer).
	confirmer bot.OutboxConfirmer
	grace     time.Duration
	pace      *pacer
	// slots bounds the Web API calls in flight (max_posts_in_flight).
	slots *slots
	// transport is shared by every Web API call and response URL post;
	// hooks is the client of response URL posts.
	transport *http.Transport
	hooks     *http.Client
	threads   *threadOwners
	// questions remembers each conversation's last question with
	// buttons, to take them off when the person types their answer.
	questions *questions
	// waiting remembers conversations that ended but still take the
	// person's thread replies: handed to staff (the engine stays quiet or
	// restarts on "restart"), closed by staff, or expired with an offer to
	// resume. The engine's Current cannot tell these from finished ones.
	waiting *keySet
	// notConvo remembers channel threads whose first message shows they
	// are no conversation's, so their replies are not looked up again.
	notConvo *keySet

	// apiErrHook, when set, is told about every failed Web API call.
	apiErrHook atomic.Pointer[func(rateLimited bool)]

	botUser atomic.Value // string: the bot's user id, from auth.test
	botID   atomic.Value // string: the bot's bot id, from auth.test

	// running is true while Run takes deliveries.
	running atomic.Bool
	// postsDone and postsLeft count turns whose replies were posted, and
	// turns whose posting failed or was cut short (left to the outbox).
	postsDone, postsLeft atomic.Int64
	// refusedFull counts deliveries refused because max_queued_turns
	// turns were waiting to be posted; rateLimited counts 429s.
	refusedFull, rateLimited atomic.Int64
	refused                  atomic.Int64 // every delivery answered 503, see Stats.Refused
	lastFullLog              atomic.Int64 // unix nanos of the last "queue full" warning

	// test knobs
	pingInterval time.Duration
	ackBudget    time.Duration
}

var _ bot.Adapter = (*Adapter)(nil)

// New validates cfg and returns an Adapter. It does no network I/O: the
// tokens are checked against Slack when Run starts. Errors describe every
// configuration problem at once. A nil log discards logs.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	transport := newTransport(cfg.MaxPostsInFlight)
	// The per-call deadline is set on each call's context (call); the
	// client's Timeout is the same bound for the calls that pass no
	// deadline of their own (slack-go's Socket Mode connection request).
	client := &http.Client{Transport: transport, Timeout: cfg.APITimeout}
	opts := []slack.Option{slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(client)}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	a := &Adapter{
		cfg:       cfg,
		log:       log.With("adapter", Platform),
		api:       slack.New(cfg.BotToken, opts...),
		seen:      newDedupe(dedupeTTL),
		pace:      newPacer(defaultInterval, defaultBurst).withTiers(slackTiers),
		slots:     newSlots(cfg.MaxPostsInFlight),
		transport: transport,
		hooks:     client,
		threads:   newThreadOwners(4096),
		questions: newQuestions(4096),
		waiting:   newKeySet(4096),
		notConvo:  newKeySet(4096),
		posts:     newPostQueues(cfg.MaxQueuedTurns),
		sockets:   make(chan struct{}, maxSocketJobs),
		grace:     defaultGrace,

		ackBudget: ackBudget,
	}
	a.work.closing = true // until Run
	a.botUser.Store("")
	a.botID.Store("")
	return a, nil
}

// Name returns "slack", the Address.Platform of its conversations.
func (a *Adapter) Name() string { return Platform }

// HandsOff reports whether handoffs are configured (slack.support_channel
// is set): main registers the adapter as the engine's bot.HandoffPoster
// only then. Safe for concurrent use.
func (a *Adapter) HandsOff() bool { return a.cfg.SupportChannel != "" }

// SetAPIErrorHook makes the adapter call f after every failed Slack Web API
// request, with rateLimited true for a 429 or a "ratelimited" error (each
// retried attempt counts), for metrics. Calls cut short by their context
// are not reported. f must be fast and safe for concurrent use; nil removes
// the hook. Safe to call at any time.
func (a *Adapter) SetAPIErrorHook(f func(rateLimited bool)) {
	if f == nil {
		a.apiErrHook.Store(nil)
		return
	}
	a.apiErrHook.Store(&f)
}

// apiFailed reports err, a failed Web API request, to the hook.
func (a *Adapter) apiFailed(err error) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	if f := a.apiErrHook.Load(); f != nil {
		(*f)(isRateLimited(err))
	}
}

// isRateLimited reports whether err is Slack refusing a call for its rate:
// a 429 (with or without Retry-After) or the "ratelimited" error.
func isRateLimited(err error) bool {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return true
	case errors.As(err, &sc):
		return sc.Code == http.StatusTooManyRequests
	case errors.As(err, &se):
		return se.Err == "ratelimited"
	}
	return err.Error() == "ratelimited"
}

// SetShutdownGrace sets how long Run, once its context ends, keeps posting
// the replies of turns already saved (and handoffs being posted) before it
// returns; posts still waiting then are left in the engine's outbox, and
// handoffs pending, for the sweeper of this or another replica. Default
// 10s. Call it before Run.
func (a *Adapter) SetShutdownGrace(d time.Duration) {
	if d > 0 {
		a.grace = d
	}
}

// SetConfirmer makes the adapter confirm posted replies to c (the engine's
// Delivered), for handlers that do not pass OutboxConfirmer through. Call
// it before Run.
func (a *Adapter) SetConfirmer(c bot.OutboxConfirmer) { a.confirmer = c }

// OutboxAfter is how long the engine should wait for the adapter to
// confirm a turn's replies before its sweeper posts them
// (slack.outbox_after; main passes it to Engine.KeepOutbox).
func (a *Adapter) OutboxAfter() time.Duration { return a.cfg.OutboxAfter }

// Run blocks until ctx is done, then stops cleanly and returns nil. It
// checks the bot token with auth.test first (an invalid token is returned
// as an error). In socket mode it connects, reconnecting whenever Slack asks
// or the connection drops, and delivers events to h; in http mode it lets
// HTTPHandler take deliveries. If h implements bot.HandoffCloser (directly
// or through Unwrap), staff's Close clicks on handoff posts close handoffs;
// otherwise staff are told it can't.
//
// When ctx ends Run stops taking deliveries (HTTP gets 503, Socket Mode
// envelopes are left unacknowledged, so Slack delivers them elsewhere or
// again), lets the deliveries in progress finish (a few seconds at most),
// disconnects, posts the replies of saved turns for up to the shutdown
// grace (SetShutdownGrace), logs what it finished and what it left to the
// engine's outbox, and returns. Call Run once per Adapter.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	if err := a.identify(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.work.open()
	a.running.Store(true)
	sockCtx, stopSocket := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSocket()
	sockDone := make(chan error, 1)
	if a.cfg.Mode == ModeSocket {
		go func() { sockDone <- a.runSocket(sockCtx, h) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-sockDone:
		sockDone <- nil
	}
	a.shutdown(stopSocket, sockDone)
	return err
}

// shutdown stops taking deliveries, waits for those in progress, stops the
// socket connection, and posts what is queued within the grace.
func (a *Adapter) shutdown(stopSocket context.CancelFunc, sockDone <-chan error) {
	start := time.Now()
	turns0, done0, left0 := a.work.turns.Load(), a.postsDone.Load(), a.postsLeft.Load()
	a.running.Store(false)
	// Posting ends with the grace, counted from now: a handoff still
	// being posted after its delivery was acknowledged (PostHandoff) holds
	// its delivery open, and must not hold shutdown past the grace.
	cut := time.AfterFunc(max(a.grace, time.Second), a.posts.stop)
	defer cut.Stop()
	a.work.close()
	stopSocket()
	if a.cfg.Mode == ModeSocket {
		<-sockDone
	}
	waiting := a.posts.waiting()
	a.posts.drain(max(a.grace-time.Since(start), time.Second))
	a.log.Info("slack adapter stopped: turns in progress finished, replies posted within the grace; the rest stay in the outbox for the sweeper",
		"turns_finished", a.work.turns.Load()-turns0, "posts_waiting", waiting,
		"posts_finished", a.postsDone.Load()-done0, "posts_left_for_outbox", a.postsLeft.Load()-left0,
		"took", time.Since(start).Round(time.Millisecond))
}

// identify learns the bot's own ids with auth.test, retrying transient
// failures with backoff until ctx ends; an auth error is returned.
func (a *Adapter) identify(ctx context.Context) error {
	delay := 500 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, a.cfg.APITimeout)
		res, err := a.api.AuthTestContext(actx)
		cancel()
		a.apiFailed(err)
		if err == nil {
			a.botUser.Store(res.UserID)
			a.botID.Store(res.BotID)
			a.log.Info("connected to Slack", "team", res.Team, "team_id", res.TeamID, "bot_user", res.UserID, "mode", a.cfg.Mode)
			return nil
		}
		var se slack.SlackErrorResponse
		if (errors.As(err, &se) && !transientSlackError[se.Err]) || isAuthError(err) {
			return fmt.Errorf("slack: auth.test refused the bot token: %w", err)
		}
		a.log.Warn("auth.test failed; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// transientSlackError lists Web API errors worth retrying.
var transientSlackError = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "ratelimited": true,
}

func isAuthError(err error) bool {
	switch err.Error() {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

func (a *Adapter) self() (user, botID string) {
	return a.botUser.Load().(string), a.botID.Load().(string)
}
