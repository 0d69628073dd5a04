// Package discord is the Discord adapter: people troubleshoot in a support
// server with the /troubleshoot slash command, buttons, select menus and
// modals, or by mentioning or DMing the bot. It uses discordgo over the
// gateway and can also receive interactions over HTTP
// (Adapter.InteractionsHandler). Escalated conversations can be handed to
// staff in a support channel (PostHandoff, with a Close button), and the
// engine's notices reach people through Send. Setup for server admins is
// in SETUP.md.
package discord

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"troubleshooter/bot"
)

// Adapter is the Discord adapter. Create it with New; it is safe for
// concurrent use. Run connects to the gateway; InteractionsHandler serves
// HTTP interactions; both may be used at once.
type Adapter struct {
	cfg       Config
	log       *slog.Logger
	publicKey ed25519.PublicKey
	session   *discordgo.Session
	guides    []string
	// limits is the REST transport's rate-limit guard, which also reports
	// failed calls (SetAPIErrorHook).
	limits *boundedRateLimits

	// now is the clock for timestamp freshness checks.
	now func() time.Time

	mu sync.Mutex
	// base is Run's context without its cancellation.
	base context.Context
	// botID is the bot's user id, known after READY.
	botID string
	// channels caches what the bot learned about channels (threads and
	// their parents, thread owners).
	channels map[string]channelInfo
	// lastStep is the step each conversation was last seen on, a fallback
	// for stale-click detection when the handler cannot tell (see Resumer).
	lastStep map[string]string
	// questions is each conversation's last question with controls, so a
	// typed answer can disable them.
	questions map[string]question
	// questionIDs are the message ids of questions, for isLiveQuestion.
	questionIDs map[string]bool
	// hinted is when each thread last got unreadableHint.
	hinted map[string]time.Time
	// forms are the labels of typed-answer questions' modals (wording.go).
	forms map[string]form

	locks keyedLocks
	// queue runs gateway events in order per conversation, bounded
	// (queue.go).
	queue *deliveries
	// refusedUnsaved and refusedBusy count HTTP interactions answered
	// "try again" in their initial response (Stats).
	refusedUnsaved, refusedBusy atomic.Int64
	// fullLogged is when a full queue was last logged (unix nanoseconds).
	fullLogged atomic.Int64
	// buckets are the REST routes' rate-limit buckets (rest.go).
	buckets *restBuckets
	// dms caches each person's DM channel id (dmChannel).
	dms map[string]string
	// held are HTTP interactions' initial responses held for their turn's
	// save (webhook.go).
	held heldResponses
	work tracker
	// grace is how long Run waits for turns in flight on shutdown.
	grace time.Duration
	// confirmer is told when a turn's replies were sent (SetConfirmer);
	// without one, the handler is asked (bot.OutboxConfirmer).
	confirmer bot.OutboxConfirmer
	// sentTurns and leftTurns count turns whose replies were all sent,
	// and turns whose sending failed (left to the outbox sweeper).
	sentTurns, leftTurns atomic.Int64
}

var _ bot.Adapter = (*Adapter)(nil)

// New validates cfg and returns an Adapter; it does not connect (Run does).
// Errors name the offending config keys. A nil log discards logs.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := cfg.Token
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	a := &Adapter{
		cfg:         cfg,
		log:         log.With("adapter", Platform),
		session:     s,
		now:         time.Now,
		channels:    make(map[string]channelInfo),
		lastStep:    make(map[string]string),
		questions:   make(map[string]question),
		questionIDs: make(map[string]bool),
		dms:         make(map[string]string),
		grace:       defaultShutdownGrace,
		queue:       newDeliveries(cfg.MaxQueued),
		buckets:     newRESTBuckets(),
	}
	if cfg.PublicKey != "" {
		a.publicKey, _ = parsePublicKey(cfg.PublicKey)
	}
	base, _ := url.Parse(cfg.APIURL)
	a.limits = newBoundedRateLimits(rewriteTransport(base, newRESTTransport(cfg.MaxInFlight)), cfg.MaxInFlight, cfg.RequestsPerSecond)
	s.Client = &http.Client{Timeout: restCallTimeout, Transport: a.limits}
	s.ShardID, s.ShardCount = cfg.ShardID, cfg.ShardCount
	// Handlers run on the gateway's reading goroutine, in the order
	// events arrive; they only hand each event to a.queue (Run), which
	// keeps each conversation's order and runs conversations in parallel.
	s.SyncEvents = true
	s.StateEnabled = true
	s.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
	if cfg.MessageContent {
		s.Identify.Intents |= discordgo.IntentsMessageContent
	}
	// discordgo logs request URLs, which hold interaction tokens, at its
	// informational level; keep it at errors whatever its default.
	s.LogLevel = discordgo.LogError
	s.MaxRestRetries = 3
	s.ShouldRetryOnRateLimit = true
	return a, nil
}

// Name returns "discord", the Address.Platform of its conversations.
func (a *Adapter) Name() string { return Platform }

// HandsOff reports whether escalations can be handed to staff: a
// support_channel is configured. main registers the adapter as the
// platform's bot.HandoffPoster only then.
func (a *Adapter) HandsOff() bool { return a.cfg.SupportChannel != "" }

// SetAPIErrorHook makes the adapter call hook after every failed Discord
// REST call (a transport error or a status of 400 or more; each retry
// counts), with rateLimited true for a 429. hook runs on the calling
// goroutine, so it must be fast and safe for concurrent use (a metrics
// counter). A nil hook removes it. Safe to call at any time.
func (a *Adapter) SetAPIErrorHook(hook func(rateLimited bool)) {
	if hook == nil {
		a.limits.onFail.Store(nil)
		return
	}
	a.limits.onFail.Store(&hook)
}

// SetGuides lists the guide ids the handler knows, so that /troubleshoot
// offers a "guide" option when there are several. Call it before Run; it
// only affects command registration.
func (a *Adapter) SetGuides(ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.guides = append([]string(nil), ids...)
}

// Timeouts of the adapter's own work.
const (
	// turnTimeout bounds one interaction or message from receipt to the
	// last reply sent; interaction tokens last 15 minutes.
	turnTimeout = 2 * time.Minute
	// defaultShutdownGrace is how long Run waits for turns in flight on
	// shutdown, unless SetShutdownGrace says otherwise.
	defaultShutdownGrace = 10 * time.Second
	// threadArchiveMinutes is the auto-archive duration of the bot's
	// threads (one day of inactivity).
	threadArchiveMinutes = 1440
	// maxRemembered bounds the in-memory caches; they are dropped whole
	// when full (they are only optimisations).
	maxRemembered = 50000
)

// Resumer is implemented by handlers that can show the question a
// conversation is waiting on without changing it (*bot.Engine does). The
// adapter uses it to answer clicks on already-answered or expired questions
// privately, and to resume a conversation in progress on /troubleshoot.
type Resumer interface {
	Current(ctx context.Context, a bot.Address) (bot.Result, error)
}

// Run registers the /troubleshoot command (bulk overwrite, globally or on
// Config.GuildIDs), connects to the gateway and delivers every interaction,
// DM and mention to h until ctx is done. It then waits briefly for turns in
// flight, disconnects and returns nil. It returns an error when it cannot
// start: command registration or the gateway connection failed (a bad
// token, say). Run must not be called again while running.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	s := a.session
	a.work.reopen()
	a.mu.Lock()
	a.base = context.WithoutCancel(ctx)
	a.mu.Unlock()
	if err := a.registerCommands(); err != nil {
		return err
	}
	removers := []func(){
		s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
			if r.User != nil {
				a.mu.Lock()
				a.botID = r.User.ID
				a.mu.Unlock()
			}
			a.log.Info("connected to the Discord gateway", "shard", a.cfg.ShardID, "shards", a.cfg.ShardCount)
		}),
		s.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
			if !a.work.start() {
				return
			}
			i := ic.Interaction
			// Each interaction is a queue of its own: it is answered at
			// once, whatever its conversation is doing (the engine
			// serializes the turns), and counts against the bound.
			a.take("interaction "+i.ID, func() {
				defer a.work.done()
				a.handleInteraction(h, i, func(r *discordgo.InteractionResponse) error {
					return a.respond(i, r)
				})
			})
		}),
		s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
			if !a.work.start() {
				return
			}
			// A person's messages in one channel are one conversation's
			// (a DM, a thread, or mentions in a channel), in order; the
			// key needs no lookup, so reading goes on at once.
			key := "message " + m.ChannelID
			if m.Author != nil {
				key += " " + m.Author.ID
			}
			a.take(key, func() {
				defer a.work.done()
				a.handleMessage(h, m.Message)
			})
		}),
	}
	defer func() {
		for _, r := range removers {
			r()
		}
	}()
	if err := s.Open(); err != nil {
		return fmt.Errorf("discord: connect to the gateway: %w", err)
	}
	// Open has processed READY into the state; the READY handler may not
	// have run yet.
	s.State.RLock()
	if s.State.User != nil {
		a.mu.Lock()
		a.botID = s.State.User.ID
		a.mu.Unlock()
	}
	s.State.RUnlock()
	<-ctx.Done()
	// Stop taking deliveries first: the gateway closes (Discord does not
	// redeliver messages, so the turns already taken are finished rather
	// than dropped), HTTP interactions get 503. Then finish the turns in
	// flight and their replies within the grace.
	start := time.Now()
	inflight, sent0, left0 := a.work.active(), a.sentTurns.Load(), a.leftTurns.Load()
	if err := s.Close(); err != nil {
		a.log.Warn("closing the gateway connection", "err", bot.RedactURL(err))
	}
	finished := a.work.shutdown(a.grace)
	a.log.Info("discord adapter stopped: turns in progress finished and their replies sent within the grace; unsent replies stay in the outbox for the sweeper",
		"turns_in_flight", inflight, "turns_unfinished", a.work.active(), "all_finished", finished,
		"replies_sent", a.sentTurns.Load()-sent0, "replies_left_for_outbox", a.leftTurns.Load()-left0,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// take queues a gateway event's work behind key's earlier work (see
// deliveries). When the queue is full it waits, pausing the gateway's
// reading, and says so in the log at most every 10 seconds.
func (a *Adapter) take(key string, fn func()) {
	if !a.queue.add(key, fn) {
		return
	}
	if a.fullLogDue() {
		a.log.Warn("gateway events are arriving faster than turns finish: reading paused until one finishes (discord.max_queued)",
			"max_queued", a.cfg.MaxQueued, "pauses_so_far", a.queue.fullWaits.Load())
	}
}

// fullLogDue reports whether a "queue full" warning may be logged now: at
// most one every 10 seconds, gateway and HTTP interactions together.
func (a *Adapter) fullLogDue() bool {
	now := time.Now().UnixNano()
	last := a.fullLogged.Load()
	return now-last >= int64(10*time.Second) && a.fullLogged.CompareAndSwap(last, now)
}

// takeWithin is take for an HTTP interaction, whose answer must reach
// Discord within its deadline: it waits for room at most wait, and
// reports whether fn was queued.
func (a *Adapter) takeWithin(key string, fn func(), wait time.Duration) bool {
	queued, waited := a.queue.addWithin(key, fn, wait)
	if waited && a.fullLogDue() {
		a.log.Warn("interactions are arriving faster than turns finish: each waits for room, then is asked to try again (discord.max_queued)",
			"max_queued", a.cfg.MaxQueued, "pauses_so_far", a.queue.fullWaits.Load(), "refused_so_far", a.refusedBusy.Load())
	}
	return queued
}

// Stats are the adapter's counters of back-pressure and rate limits,
// since New: what waited, and how much is in flight now.
type Stats struct {
	// RESTInFlight is how many REST calls are in flight now.
	RESTInFlight int64
	// RESTSlotWaits counts calls that waited for a slot because
	// discord.max_in_flight calls were in flight.
	RESTSlotWaits int64
	// RESTPaced counts calls held back to stay under
	// discord.requests_per_second or by a global 429.
	RESTPaced int64
	// RateLimited counts 429 answers (retries included), and
	// GlobalRateLimited those that were global.
	RateLimited, GlobalRateLimited int64
	// Queued is how many gateway events are taken and not finished now.
	Queued int64
	// QueueFullWaits counts the times reading the gateway paused because
	// discord.max_queued events were taken.
	QueueFullWaits int64
	// RefusedUnsaved counts HTTP interactions whose turn was not saved
	// within 2.5 s: the turn was canceled and the person asked, in the
	// initial response itself, to try again (an ack then could be lost).
	RefusedUnsaved int64
	// RefusedBusy counts HTTP interactions that found no room within
	// discord.max_queued in time, answered the same way.
	RefusedBusy int64
}

// Stats returns the adapter's back-pressure counters; safe to call at any
// time, from any goroutine.
func (a *Adapter) Stats() Stats {
	l := a.limits
	return Stats{
		RESTInFlight:      l.inFlight.Load(),
		RESTSlotWaits:     l.slotWaits.Load(),
		RESTPaced:         l.paced.Load(),
		RateLimited:       l.rateLimited.Load(),
		GlobalRateLimited: l.globalLimited.Load(),
		Queued:            int64(a.queue.queued()),
		QueueFullWaits:    a.queue.fullWaits.Load(),
		RefusedUnsaved:    a.refusedUnsaved.Load(),
		RefusedBusy:       a.refusedBusy.Load(),
	}
}

// SetShutdownGrace sets how long Run, once its context ends, waits for the
// turns in flight and their replies before it returns; replies still
// unsent then stay in the engine's outbox, for the sweeper. Default 10s.
// Call it before Run.
func (a *Adapter) SetShutdownGrace(d time.Duration) {
	if d > 0 {
		a.grace = d
	}
}

// SetConfirmer makes the adapter confirm sent replies to c (the engine's
// Delivered), for handlers that do not implement bot.OutboxConfirmer
// themselves. Call it before Run.
func (a *Adapter) SetConfirmer(c bot.OutboxConfirmer) { a.confirmer = c }

// OutboxAfter is how long the engine should wait for the adapter to
// confirm a turn's replies before its sweeper posts them
// (discord.outbox_after; main passes it to Engine.KeepOutbox).
func (a *Adapter) OutboxAfter() time.Duration { return a.cfg.OutboxAfter }

// confirm tells the engine that outbox entry id of the conversation at to
// was sent.
func (a *Adapter) confirm(ctx context.Context, h bot.Handler, to bot.Address, id string) {
	if id == "" {
		return
	}
	c := a.confirmer
	if c == nil {
		var ok bool
		if c, ok = h.(bot.OutboxConfirmer); !ok {
			return
		}
	}
	if err := c.Delivered(ctx, to, id); err != nil {
		a.log.Warn("could not record sent replies; the outbox sweeper may send them again", "conversation", bot.LogKey(to.Key()), "err", bot.RedactURL(err))
	}
}

// Send implements bot.Sender: it posts replies, in order, to the
// conversation at to: its thread when it has one, else its channel (a DM
// is a channel too). In a server the first message mentions the person so
// that they are notified when Config.Ping says so; nothing else can ping. Choices are not rendered
// as controls (there is no turn for them to answer); Send is for notices
// such as the sweeper's nudges and the handoff-closed notice. It waits
// for the conversation's turn in progress, if any, so notices never
// interleave with a turn's replies, and blocks until Discord accepted every
// message or ctx is done. Errors: an address that is not a Discord one,
// ctx's error, or the first failed REST call; they match
// bot.ErrUndeliverable when no retry can fix them (a bad address, a call
// Discord refused for good: isUndeliverable), so that the engine drops
// those replies instead of trying again.
func (a *Adapter) Send(ctx context.Context, to bot.Address, replies []bot.Reply) error {
	if to.Platform != "" && to.Platform != Platform {
		return fmt.Errorf("discord: cannot send to a %q conversation: %w", to.Platform, bot.ErrUndeliverable)
	}
	to.Platform = Platform
	channel := to.Thread
	if channel == "" {
		channel = to.Channel
	}
	if !isSnowflake(channel) {
		return fmt.Errorf("discord: cannot send to channel %q: %w", channel, bot.ErrUndeliverable)
	}
	msgs := a.render(to, replies, "")
	if len(msgs) == 0 {
		return nil
	}
	unlock, err := a.locks.lockCtx(ctx, to.Key())
	if err != nil {
		return err
	}
	defer unlock()
	mention := ""
	if to.Workspace != "" && isSnowflake(to.User) && a.pingsFor(replies) {
		mention = to.User
	}
	if err := a.sendAll(msgs, a.toChannel(channel, mention, discordgo.WithContext(ctx))); err != nil {
		return sendError(err)
	}
	return nil
}

// pingsFor reports whether notices sent with Send ping the person
// (Config.Ping): always, never, or by default only for what they would
// not otherwise look for, news of their handoff to staff. Reminders and
// the closing notice land in a conversation the person is in.
func (a *Adapter) pingsFor(replies []bot.Reply) bool {
	switch a.cfg.Ping {
	case PingAlways:
		return true
	case PingNever:
		return false
	}
	for _, r := range replies {
		if r.Text == bot.HandoffClosedNotice || r.Text == bot.HandoffFailedNotice {
			return true
		}
	}
	return false
}

// baseContext is the context turns run under: Run's context without its
// cancellation (turns in flight finish on shutdown), or Background.
func (a *Adapter) baseContext() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.base == nil {
		return context.Background()
	}
	return a.base
}

// recoverPanic keeps one bad event (a bug in a handler or a guide) from
// taking the whole bot down: the panic is logged with its stack.
func (a *Adapter) recoverPanic(what, id string) {
	if r := recover(); r != nil {
		a.log.Error("panic while handling a Discord event", "event", what, "id", id, "panic", r, "stack", string(debug.Stack()))
	}
}

// rewriteTransport sends requests meant for discord.com to base instead
// (scheme, host and a path prefix), for REST proxies and tests. discordgo
// computes its endpoints at init, so this is the way to move them.
func rewriteTransport(base *url.URL, next http.RoundTripper) http.RoundTripper {
	if base.Scheme == "https" && base.Host == "discord.com" && strings.Trim(base.Path, "/") == "" {
		return next
	}
	prefix := strings.TrimRight(base.Path, "/")
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host != "discord.com" {
			return next.RoundTrip(r)
		}
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = base.Scheme, base.Host
		r.URL.Path = prefix + r.URL.Path
		if r.URL.RawPath != "" {
			r.URL.RawPath = prefix + r.URL.RawPath
		}
		r.Host = base.Host
		return next.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
