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
// Deliveries are acknowledged at once and handled afterwards by a pool of
// workers; messages of one conversation are handled in arrival order.
// Every delivery id (event_id, trigger_id) is handled once per process, and
// the engine's durable dedupe covers redeliveries across restarts.
package slack

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"troubleshooter/bot"
)

// Platform is the Address.Platform of Slack conversations.
const Platform = "slack"

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// Modes of connection, the values of Config.Mode.
const (
	// ModeSocket connects out to Slack over Socket Mode (the default).
	ModeSocket = "socket"
	// ModeHTTP receives Slack's requests on HTTPHandler's routes.
	ModeHTTP = "http"
)

// Config configures the Slack adapter. Only main reads the config file;
// secrets come from the environment through ${VAR}.
type Config struct {
	// Mode is "socket" (the default when empty) or "http".
	Mode string `yaml:"mode"`
	// BotToken is the bot user OAuth token, xoxb-…, from ${SLACK_BOT_TOKEN}.
	BotToken string `yaml:"bot_token"`
	// AppToken is the app-level token, xapp-… with connections:write, from
	// ${SLACK_APP_TOKEN}; required in socket mode.
	AppToken string `yaml:"app_token"`
	// SigningSecret verifies HTTP requests, from ${SLACK_SIGNING_SECRET};
	// required in http mode.
	SigningSecret string `yaml:"signing_secret"`
	// APIURL is the Web API base, default https://slack.com/api/ (set it for
	// GovSlack or an egress proxy). Socket Mode connects to whatever
	// websocket URL this base's apps.connections.open returns.
	APIURL string `yaml:"api_url"`
	// SupportChannel is the id (C…) of the channel where escalated
	// conversations are handed to staff; empty means no handoffs (an
	// escalation just ends the conversation). The bot must be a member.
	SupportChannel string `yaml:"support_channel"`
	// SupportGroup is the id (S…) of a user group mentioned on every
	// handoff post, so that its members are notified; optional, and only
	// with SupportChannel.
	SupportGroup string `yaml:"support_group"`
}

// Enabled reports whether Slack is configured at all: a bot token is set.
// main runs the adapter only when it is.
func (c Config) Enabled() bool { return strings.TrimSpace(c.BotToken) != "" }

// validate checks c and returns it with defaults filled in. Errors name the
// config key and say what is expected, never the secret itself.
func (c Config) validate() (Config, error) {
	if c.Mode == "" {
		c.Mode = ModeSocket
	}
	var errs []error
	switch c.Mode {
	case ModeSocket, ModeHTTP:
	default:
		errs = append(errs, fmt.Errorf("slack.mode is %q; want %q or %q (lower case)", c.Mode, ModeSocket, ModeHTTP))
	}
	switch {
	case c.BotToken == "":
		errs = append(errs, errors.New("slack.bot_token is empty; set it to the bot token (xoxb-…), e.g. ${SLACK_BOT_TOKEN}"))
	case !strings.HasPrefix(c.BotToken, "xoxb-"):
		errs = append(errs, errors.New("slack.bot_token does not start with xoxb-: use the Bot User OAuth Token from OAuth & Permissions, not a user (xoxp-) or app (xapp-) token"))
	}
	if c.Mode == ModeSocket {
		switch {
		case c.AppToken == "":
			errs = append(errs, errors.New("slack.app_token is empty; socket mode needs an app-level token (xapp-…) with the connections:write scope, e.g. ${SLACK_APP_TOKEN}"))
		case !strings.HasPrefix(c.AppToken, "xapp-"):
			errs = append(errs, errors.New("slack.app_token does not start with xapp-: create an app-level token under Basic Information → App-Level Tokens"))
		}
	}
	if c.Mode == ModeHTTP && c.SigningSecret == "" {
		errs = append(errs, errors.New("slack.signing_secret is empty; http mode needs the Signing Secret from Basic Information, e.g. ${SLACK_SIGNING_SECRET}"))
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(c.APIURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("slack.api_url: %w", err))
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		errs = append(errs, fmt.Errorf("slack.api_url %q is not an absolute http(s) URL", c.APIURL))
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/" // slack-go appends method names directly
	}
	c.SupportChannel = strings.TrimSpace(c.SupportChannel)
	c.SupportGroup = strings.TrimSpace(c.SupportGroup)
	if c.SupportChannel != "" && !validID(c.SupportChannel, "CG") {
		errs = append(errs, fmt.Errorf("slack.support_channel %q is not a channel id: use the id (C…, upper case) from the channel's details → About → Channel ID, not its name, and invite the bot there (/invite @Troubleshooter)", clip(c.SupportChannel, 40)))
	}
	if c.SupportGroup != "" {
		switch {
		case !validID(c.SupportGroup, "S"):
			errs = append(errs, fmt.Errorf("slack.support_group %q is not a user group id: use the group's id (S…, upper case): People → User groups → the group → ⋯ → Copy group ID; not its @handle", clip(c.SupportGroup, 40)))
		case c.SupportChannel == "":
			errs = append(errs, errors.New("slack.support_group is set but slack.support_channel is empty: the group is mentioned on handoff posts, which go to the support channel"))
		}
	}
	return c, errors.Join(errs...)
}

// validID reports whether id looks like a Slack id starting with one of
// prefixes: upper-case letters and digits, 2 to 32 characters. Catching a
// channel name or a lower-cased id at start-up beats a channel_not_found
// on the first escalation.
func validID(id, prefixes string) bool {
	if len(id) < 2 || len(id) > 32 || !strings.ContainsRune(prefixes, rune(id[0])) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Tuning; tests shorten some of these through the unexported fields.
const (
	defaultWorkers  = 8
	queueSize       = 256
	enqueueWait     = 2 * time.Second  // how long a delivery may wait for queue space before it is refused
	jobTimeout      = 30 * time.Second // bound on one delivery's handling and posting
	maxRetries429   = 3                // retries of one API call after 429s
	dedupeTTL       = 15 * time.Minute // Slack retries within minutes
	defaultInterval = time.Second      // chat.postMessage ≈ 1/s per channel
	defaultBurst    = 4
)

// Adapter is the Slack adapter. Create it with New; it is safe for
// concurrent use. Run and HTTPHandler may be used together (HTTP mode) and
// share one worker pool.
type Adapter struct {
	cfg Config
	log *slog.Logger
	api *slack.Client

	shards  []chan job
	seen    *dedupe
	pace    *pacer
	threads *threadOwners
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

	// startOnce starts the worker pool; workersCtx stops it.
	startOnce sync.Once
	running   atomic.Bool

	// test knobs
	pingInterval time.Duration
	queueWait    time.Duration // how long enqueue waits for room (enqueueWait)
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
	opts := []slack.Option{slack.OptionAPIURL(cfg.APIURL)}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	a := &Adapter{
		cfg:      cfg,
		log:      log.With("adapter", Platform),
		api:      slack.New(cfg.BotToken, opts...),
		seen:     newDedupe(dedupeTTL),
		pace:     newPacer(defaultInterval, defaultBurst),
		threads:  newThreadOwners(4096),
		waiting:  newKeySet(4096),
		notConvo: newKeySet(4096),

		queueWait: enqueueWait,
	}
	a.shards = make([]chan job, defaultWorkers)
	for i := range a.shards {
		a.shards[i] = make(chan job, queueSize/defaultWorkers)
	}
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

// Run blocks until ctx is done, then stops cleanly and returns nil. It
// checks the bot token with auth.test first (an invalid token is returned
// as an error). In socket mode it connects, reconnecting whenever Slack asks
// or the connection drops, and delivers events to h; in http mode it only
// runs the workers that handle what HTTPHandler accepted. If h implements
// bot.HandoffCloser (directly or through Unwrap), staff's Close clicks on
// handoff posts close handoffs; otherwise staff are told it can't. Deliveries still
// queued when ctx ends are dropped (they were acknowledged; the engine's
// state is unchanged for them). Call Run once per Adapter.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	if err := a.identify(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var wg sync.WaitGroup
	a.runWorkers(ctx, &wg)
	var err error
	if a.cfg.Mode == ModeSocket {
		err = a.runSocket(ctx, h)
	} else {
		<-ctx.Done()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// identify learns the bot's own ids with auth.test, retrying transient
// failures with backoff until ctx ends; an auth error is returned.
func (a *Adapter) identify(ctx context.Context) error {
	delay := 500 * time.Millisecond
	for {
		res, err := a.api.AuthTestContext(ctx)
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

// job is one delivery's work, run by the worker that owns its key.
type job struct {
	key string
	do  func(ctx context.Context)
}

// runWorkers starts one goroutine per shard; they stop when ctx is done.
func (a *Adapter) runWorkers(ctx context.Context, wg *sync.WaitGroup) {
	a.running.Store(true)
	for _, ch := range a.shards {
		wg.Go(func() {
			defer a.running.Store(false)
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-ch:
					a.runJob(ctx, j)
				}
			}
		})
	}
}

// runJob runs j with a bounded context that outlives a shutdown briefly, so
// that a turn the engine already saved still gets its replies posted.
func (a *Adapter) runJob(ctx context.Context, j job) {
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("slack delivery handler panicked", "panic", r)
		}
	}()
	j.do(jctx)
}

var errQueueFull = errors.New("slack adapter is busy or not running")

// enqueue hands j to the worker owning j.key, waiting briefly for room. It
// fails when the workers are not running or stay full, so that the caller
// can refuse the delivery and Slack retries it.
func (a *Adapter) enqueue(ctx context.Context, j job) error {
	if !a.running.Load() {
		return errQueueFull
	}
	h := fnv.New32a()
	h.Write([]byte(j.key))
	ch := a.shards[h.Sum32()%uint32(len(a.shards))]
	t := time.NewTimer(a.queueWait)
	defer t.Stop()
	select {
	case ch <- j:
		return nil
	case <-t.C:
		return errQueueFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dedupe remembers delivery ids for a while; safe for concurrent use. An
// id is claimed by the first copy of a delivery, which then settles it:
// queued (kept) or refused (forgotten, so that a later copy is taken).
// Copies arriving in between wait for that outcome instead of being
// acknowledged as duplicates of a copy that may still be refused.
type dedupe struct {
	mu   sync.Mutex
	ttl  time.Duration
	seen map[string]*seenEntry
	now  func() time.Time
	last time.Time
}

type seenEntry struct {
	at      time.Time
	settled chan struct{} // closed once the claiming copy was queued or refused
}

func newDedupe(ttl time.Duration) *dedupe {
	return &dedupe{ttl: ttl, seen: map[string]*seenEntry{}, now: time.Now}
}

// claim records id. For a new id it returns settle, which the caller must
// call once with whether the delivery was kept; otherwise it returns the
// channel closed when the claiming copy settles. "" is always new.
func (d *dedupe) claim(id string) (settle func(kept bool), settled <-chan struct{}) {
	if id == "" {
		return func(bool) {}, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.Sub(d.last) > d.ttl/4 {
		for k, e := range d.seen {
			if now.Sub(e.at) > d.ttl {
				delete(d.seen, k)
			}
		}
		d.last = now
	}
	if e, ok := d.seen[id]; ok && now.Sub(e.at) <= d.ttl {
		return nil, e.settled
	}
	e := &seenEntry{at: now, settled: make(chan struct{})}
	d.seen[id] = e
	return func(kept bool) {
		if !kept {
			d.mu.Lock()
			if d.seen[id] == e {
				delete(d.seen, id)
			}
			d.mu.Unlock()
		}
		close(e.settled)
	}, nil
}

// first records id and reports whether it was new, settling it as kept.
// "" is always new.
func (d *dedupe) first(id string) bool {
	settle, _ := d.claim(id)
	if settle == nil {
		return false
	}
	settle(true)
	return true
}

// forget removes id, for deliveries that were refused and will come again.
func (d *dedupe) forget(id string) {
	d.mu.Lock()
	delete(d.seen, id)
	d.mu.Unlock()
}

// threadOwners remembers who started the conversation in recent threads
// (bounded, oldest forgotten first); it only decides who may talk in a
// thread between restarts. The engine's store stays the source of truth.
type threadOwners struct {
	mu    sync.Mutex
	max   int
	owner map[string]string
	order []string
}

func newThreadOwners(n int) *threadOwners {
	return &threadOwners{max: n, owner: map[string]string{}}
}

func (t *threadOwners) set(channel, thread, user string) {
	k := channel + "/" + thread
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.owner[k]; !ok {
		t.order = append(t.order, k)
		if len(t.order) > t.max {
			delete(t.owner, t.order[0])
			t.order = t.order[1:]
		}
	}
	t.owner[k] = user
}

func (t *threadOwners) get(channel, thread string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owner[channel+"/"+thread]
}

// keySet is a bounded set of conversation keys, oldest forgotten first;
// safe for concurrent use.
type keySet struct {
	mu    sync.Mutex
	max   int
	keys  map[string]bool
	order []string
}

func newKeySet(n int) *keySet { return &keySet{max: n, keys: map[string]bool{}} }

func (k *keySet) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys[key] {
		return
	}
	k.keys[key] = true
	k.order = append(k.order, key)
	if len(k.order) > k.max {
		delete(k.keys, k.order[0])
		k.order = k.order[1:]
	}
}

// remove forgets key. (Its place in the eviction order stays, so a key
// removed and added again may be forgotten early: harmless for a cache.)
func (k *keySet) remove(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, key)
}

func (k *keySet) has(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[key]
}
