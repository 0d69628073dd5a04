// Package slack is the Slack adapter: people in a Slack workspace run the
// guides with the bot over Socket Mode (the default, no public URL) or the
// HTTP Events API, with questions rendered as Block Kit buttons.
//
// A conversation starts with the /troubleshoot slash command, a mention of
// the bot in a channel, or a direct message. In a channel it lives in a
// thread (one conversation per thread); in a DM it is flat. Only the person
// who started a conversation can answer it.
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
	return c, errors.Join(errs...)
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

	botUser atomic.Value // string: the bot's user id, from auth.test
	botID   atomic.Value // string: the bot's bot id, from auth.test

	// startOnce starts the worker pool; workersCtx stops it.
	startOnce sync.Once
	running   atomic.Bool

	// test knobs
	pingInterval time.Duration
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
		cfg:     cfg,
		log:     log.With("adapter", Platform),
		api:     slack.New(cfg.BotToken, opts...),
		seen:    newDedupe(dedupeTTL),
		pace:    newPacer(defaultInterval, defaultBurst),
		threads: newThreadOwners(4096),
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

// Run blocks until ctx is done, then stops cleanly and returns nil. It
// checks the bot token with auth.test first (an invalid token is returned
// as an error). In socket mode it connects, reconnecting whenever Slack asks
// or the connection drops, and delivers events to h; in http mode it only
// runs the workers that handle what HTTPHandler accepted. Deliveries still
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
	t := time.NewTimer(enqueueWait)
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

// dedupe remembers delivery ids for a while; safe for concurrent use.
type dedupe struct {
	mu   sync.Mutex
	ttl  time.Duration
	seen map[string]time.Time
	now  func() time.Time
	last time.Time
}

func newDedupe(ttl time.Duration) *dedupe {
	return &dedupe{ttl: ttl, seen: map[string]time.Time{}, now: time.Now}
}

// first records id and reports whether it was new. "" is always new.
func (d *dedupe) first(id string) bool {
	if id == "" {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.Sub(d.last) > d.ttl/4 {
		for k, t := range d.seen {
			if now.Sub(t) > d.ttl {
				delete(d.seen, k)
			}
		}
		d.last = now
	}
	if t, ok := d.seen[id]; ok && now.Sub(t) <= d.ttl {
		return false
	}
	d.seen[id] = now
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
