package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// Flow is the guide logic the Engine drives (flows.Runner implements it).
// The Engine owns persistence, ordering, dedupe and expiry; the Flow owns
// what the guide says and where answers lead. Implementations must be safe
// for concurrent use on different sessions.
type Flow interface {
	// Respond applies m to s, mutating s, and returns the bot's turn. A
	// session with no Guide is new: Respond starts it, treating m as the
	// person's opening words. When the turn ends the conversation,
	// Respond sets s.Done and s.Outcome and returns the outcome record in
	// Turn.Outcomes (a restart mid-way also returns one).
	Respond(s *Session, m Message) (Turn, error)

	// Current renders the question s is on without changing s.
	Current(s *Session) ([]Reply, error)

	// Outcome builds the record of s ending now as kind (an Outcome*
	// constant), for endings the engine decides, such as expiry.
	Outcome(s *Session, kind string, at time.Time) Outcome
}

// Turn is what one message produced.
type Turn struct {
	Replies  []Reply
	Outcomes []Outcome
	// Handoff is set when the turn escalated the conversation to staff;
	// the engine posts it when the platform has a support channel.
	Handoff *Handoff
}

// Result is what Handle returns to an adapter.
type Result struct {
	// Replies to send, in order; empty for a duplicate delivery.
	Replies []Reply
	// Step is the step the conversation is on after this message, and
	// GuideVersion the version of the guide it runs on; adapters put both
	// into buttons so that a click can be checked against them later.
	Step         string
	GuideVersion string
	// Done is true when this message ended the conversation; Outcome then
	// says how (OutcomeResolved, OutcomeEscalated or OutcomeStopped).
	Done    bool
	Outcome string
	// Duplicate is true when the message's event id was already handled;
	// nothing was changed and nothing should be sent.
	Duplicate bool
	// Listening (from Current only) is true when no question is waiting
	// but the conversation is not over for the person: it was handed to
	// staff (the bot stays quiet, but "restart" works) or closed after
	// inactivity (the next message offers to resume). Adapters should keep
	// passing the person's messages and clicks in it to Handle.
	Listening bool
}

// EngineConfig tunes the Engine. Zero fields take the documented defaults.
type EngineConfig struct {
	// IdleTimeout is how long a conversation may sit unanswered before it
	// is closed and recorded as expired (abandoned); a later message offers
	// to resume it or start over. Default 24h.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// NudgeAfter is how long a conversation may sit unanswered before the
	// person is reminded, once. Default 30m; negative disables nudges.
	// Nudges and expiry notices go out from the sweeper (RunSweeper).
	NudgeAfter time.Duration `yaml:"nudge_after"`
	// SweepEvery is how often RunSweeper looks for due nudges and
	// expiries. Default 30s.
	SweepEvery time.Duration `yaml:"sweep_every"`
	// HandoffTimeout releases a handed-over conversation that staff never
	// closed after this long without messages in it, so that the person
	// is answered again. Default 72h; negative never releases.
	HandoffTimeout time.Duration `yaml:"handoff_timeout"`
	// StoreTimeout bounds each store operation. Default 5s.
	StoreTimeout time.Duration `yaml:"store_timeout"`
	// LeaseTTL bounds how long a replica that stalls or crashes mid-turn
	// keeps a conversation's lease (shared stores only). Default 10s; a
	// turn takes milliseconds.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

func (c EngineConfig) withDefaults() EngineConfig {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 24 * time.Hour
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 5 * time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.NudgeAfter == 0 {
		c.NudgeAfter = 30 * time.Minute
	}
	if c.NudgeAfter >= c.IdleTimeout {
		c.NudgeAfter = -1 // a nudge after the expiry would never be seen
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 30 * time.Second
	}
	if c.HandoffTimeout == 0 {
		c.HandoffTimeout = 72 * time.Hour
	}
	return c
}

// maxConflictRetries bounds the load–apply–save loop when other writers
// keep winning the compare-and-swap; in one process the turn queue makes
// conflicts impossible, so this only matters with shared stores.
const maxConflictRetries = 16

// ErrBusy is returned when a conversation's session kept changing under the
// engine (other replicas writing) and no save succeeded.
var ErrBusy = errors.New("conversation is busy; try again")

// Engine turns messages into replies. It handles the messages of one
// conversation strictly one at a time, in arrival order, and different
// conversations in parallel. Each turn's new state is saved durably before
// its replies are returned. Engine is safe for concurrent use.
type Engine struct {
	store Store
	flow  Flow
	cfg   EngineConfig
	log   *slog.Logger
	queue *turnQueue
	now   func() time.Time
	obs   Observer
	// senders and posters are per platform; set before handling starts
	// and read-only after.
	senders map[string]Sender
	posters map[string]HandoffPoster
}

// NewEngine returns an Engine over store and flow. A nil log discards logs.
func NewEngine(store Store, flow Flow, cfg EngineConfig, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		store: store,
		flow:  flow,
		cfg:   cfg.withDefaults(),
		log:   log,
		queue: newTurnQueue(),
		now:   time.Now,
		obs:   nopObserver{},

		senders: map[string]Sender{},
		posters: map[string]HandoffPoster{},
	}
}

// SetSender makes the engine deliver nudges and expiry notices for
// conversations on platform through s. Call it before handling messages.
func (e *Engine) SetSender(platform string, s Sender) { e.senders[platform] = s }

// SetHandoffPoster makes escalated conversations on platform post a
// handoff through p, tell the person a human will follow up, and stay
// quiet until staff close it. Without one, an escalation just ends the
// conversation. Call it before handling messages.
func (e *Engine) SetHandoffPoster(platform string, p HandoffPoster) { e.posters[platform] = p }

// SetObserver makes the engine report to o (metrics). Call it before
// handling messages.
func (e *Engine) SetObserver(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	e.obs = o
}

// SetClock replaces the engine's clock; for tests of expiry. Not safe to
// call while messages are being handled.
func (e *Engine) SetClock(now func() time.Time) { e.now = now }

// Handle processes one message and returns the replies to send. It blocks
// while earlier messages of the same conversation are handled. Errors are
// store failures (wrapped), ErrBusy, ctx's error, or a flow bug; the
// conversation's saved state is then unchanged and the message may be
// delivered again.
func (e *Engine) Handle(ctx context.Context, m Message) (res Result, err error) {
	start := time.Now()
	defer func() { e.obs.Handled(m.Platform, time.Since(start), len(res.Replies), res.Duplicate, err) }()
	key := m.Address.Key()
	var handoff *Handoff
	err = e.locked(ctx, key, func() error {
		var err error
		res, handoff, err = e.turn(ctx, key, m)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if handoff != nil {
		// Posted outside the conversation's lock: the post may take
		// retries, and the conversation (saved as handed off) is quiet.
		res.Replies = append(res.Replies, e.handOff(ctx, *handoff))
	}
	return res, nil
}

// turn is one load–apply–save attempt. It returns the handoff to post when
// the turn handed the conversation to staff.
func (e *Engine) turn(ctx context.Context, key string, m Message) (Result, *Handoff, error) {
	if m.Time.IsZero() {
		m.Time = e.now()
	}
	now := m.Time
	s, err := e.load(ctx, key)
	if err != nil {
		return Result{}, nil, err
	}
	if s == nil {
		s = &Session{Key: key, Address: m.Address, Started: now, Updated: now}
	}
	if s.SeenEvent(m.ID) {
		return Result{Step: s.Step, GuideVersion: s.GuideVersion, Done: s.Done, Outcome: s.Outcome, Duplicate: true}, nil, nil
	}

	var outcomes []Outcome
	switch {
	case s.HandedOff, s.Done && s.Outcome == OutcomeExpired:
		// The flow decides: quiet while staff have it, or the offer to
		// resume an expired conversation.
	case s.Done:
		s.Reset(now)
	case s.Guide != "" && now.Sub(s.Updated) >= e.cfg.IdleTimeout:
		// Expired while no sweeper ran (or before it got there): record it
		// now, and let the flow offer to resume.
		o, err := e.expire(s, now)
		if err != nil {
			return Result{}, nil, err
		}
		outcomes = append(outcomes, o)
	}

	// A conversation starts when the session had none, or when the flow
	// began a new one (restart, start over): both reset Started.
	wasNew, startedBefore := s.Guide == "", s.Started
	t, err := e.respond(s, m)
	if err != nil {
		return Result{}, nil, fmt.Errorf("flow %s at step %q: %w", s.Guide, s.Step, err)
	}
	s.Updated = now
	s.Nudged = false
	s.RememberEvent(m.ID)
	outcomes = append(outcomes, t.Outcomes...)
	poster := e.posters[m.Platform]
	if t.Handoff != nil && poster != nil {
		h := *t.Handoff
		s.HandedOff, s.PendingHandoff = true, &h
	}
	e.schedule(s)

	if err := e.save(ctx, s, outcomes); err != nil {
		return Result{}, nil, err
	}
	if s.Guide != "" && (wasNew || !s.Started.Equal(startedBefore)) {
		e.obs.Started(m.Platform, s.Guide)
	}
	e.log.Debug("turn", "conversation", LogKey(key), "platform", m.Platform, "guide", s.Guide, "step", s.Step)
	e.ended(key, outcomes)
	var handoff *Handoff
	if s.PendingHandoff != nil && t.Handoff != nil {
		handoff = t.Handoff
	}
	return Result{Replies: t.Replies, Step: s.Step, GuideVersion: s.GuideVersion, Done: s.Done, Outcome: s.Outcome}, handoff, nil
}

// respond runs the flow, turning a panic into an error: one bad guide or
// hostile message must not take down every conversation in the process.
// The session is then not saved, so nothing half-done persists.
func (e *Engine) respond(s *Session, m Message) (t Turn, err error) {
	err = e.guard(s, func() error {
		var ferr error
		t, ferr = e.flow.Respond(s, m)
		return ferr
	})
	return t, err
}

// guard runs fn, one call into the flow for s, and turns a panic into an
// error wrapping ErrFlowPanic, logged with its stack.
func (e *Engine) guard(s *Session, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("the flow panicked; nothing was changed", "conversation", LogKey(s.Key),
				"guide", s.Guide, "step", s.Step, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrFlowPanic, p)
		}
	}()
	return fn()
}

// ErrFlowPanic is wrapped by Handle's error when the flow panicked.
var ErrFlowPanic = errors.New("flow panicked")

// expire closes s as abandoned, keeping its place so that it can be
// resumed, and returns the outcome record.
func (e *Engine) expire(s *Session, now time.Time) (Outcome, error) {
	var o Outcome
	err := e.guard(s, func() error {
		o = e.flow.Outcome(s, OutcomeExpired, now)
		return nil
	})
	if err != nil {
		return o, err
	}
	s.Done, s.Outcome, s.Nudged = true, OutcomeExpired, false
	return o, nil
}

// handoffRetryAfter is when the sweeper takes over posting a handoff that
// is still pending: well after the escalating turn's own attempts end, so
// that both never post it.
const handoffRetryAfter = time.Minute

// handoffGiveUp is how long the sweeper keeps retrying a pending handoff
// before telling the person it could not reach staff.
const handoffGiveUp = time.Hour

// schedule sets s.Due to the next time the sweeper must look at s.
func (e *Engine) schedule(s *Session) {
	switch {
	case s.PendingHandoff != nil:
		s.Due = e.now().Add(handoffRetryAfter)
	case s.HandedOff && e.cfg.HandoffTimeout > 0:
		s.Due = s.Updated.Add(e.cfg.HandoffTimeout)
	case s.Done || s.Guide == "":
		s.Due = time.Time{}
	case !s.Nudged && e.cfg.NudgeAfter > 0:
		s.Due = s.Updated.Add(e.cfg.NudgeAfter)
	default:
		s.Due = s.Updated.Add(e.cfg.IdleTimeout)
	}
}

// save writes s and outcomes within the store timeout. ErrConflict is
// returned unwrapped, for the caller to retry.
func (e *Engine) save(ctx context.Context, s *Session, outcomes []Outcome) error {
	sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
	defer cancel()
	t0 := time.Now()
	err := e.store.Save(sctx, s, outcomes)
	if errors.Is(err, ErrConflict) {
		e.obs.StoreOp("save", time.Since(t0), nil)
		return err
	}
	e.obs.StoreOp("save", time.Since(t0), err)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// ended reports saved outcomes to the observer and the log.
func (e *Engine) ended(key string, outcomes []Outcome) {
	for _, o := range outcomes {
		e.obs.Ended(o)
		e.log.Info("conversation ended", "conversation", LogKey(key), "platform", o.Platform,
			"guide", o.Guide, "outcome", o.Kind, "step", o.Step)
	}
}

// handoffAttempts bounds how often posting a handoff is tried; a support
// channel that is briefly unreachable should not lose the handoff.
const handoffAttempts = 3

// handOff posts h to the platform's support channel, after the
// conversation (marked handed off, with h pending) was saved, and returns
// what to tell the person. When the attempts here fail, h stays pending:
// the sweeper keeps trying (a platform's rate-limit pause can outlast
// them), and tells the person if staff cannot be reached for an hour.
func (e *Engine) handOff(ctx context.Context, h Handoff) Reply {
	if err := e.postHandoff(ctx, h, handoffAttempts, e.cfg.StoreTimeout); err != nil {
		return Reply{Text: HandoffDelayedNotice, Done: true}
	}
	return Reply{Text: HandoffNotice, Done: true}
}

// handoffSweepTimeout bounds one posting attempt from the sweeper: longer
// than the longest rate-limit pause adapters honour (30 s), so a pause
// delays a handoff instead of failing it.
const handoffSweepTimeout = 35 * time.Second

// postHandoff posts h, trying up to attempts times with each attempt
// bounded by timeout, and reports the result to the observer and the log.
// Once posted, h is no longer pending.
func (e *Engine) postHandoff(ctx context.Context, h Handoff, attempts int, timeout time.Duration) error {
	platform := h.Address.Platform
	poster := e.posters[platform]
	if poster == nil {
		return fmt.Errorf("no support channel for %s", platform)
	}
	var err error
	for attempt := range attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err = poster.PostHandoff(pctx, h)
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	e.obs.Handoff(platform, err)
	if err != nil {
		e.log.Error("posting the handoff failed", "conversation", LogKey(h.Key), "platform", platform, "err", err)
		return err
	}
	e.log.Info("handed over to support", "conversation", LogKey(h.Key), "platform", platform, "guide", h.Guide)
	e.handoffPosted(ctx, h)
	return nil
}

// handoffPosted records that h was posted: it is no longer pending, if
// the session still holds it (the person may have restarted, and
// escalated again, meanwhile; quiet messages change Updated, never
// Started). A failure to save is logged: the sweeper may then post h again
// later, and staff see it twice, which beats never.
func (e *Engine) handoffPosted(ctx context.Context, h Handoff) {
	wctx := context.WithoutCancel(ctx)
	err := e.locked(wctx, h.Key, func() error {
		s, err := e.load(wctx, h.Key)
		if err != nil || s == nil || s.PendingHandoff == nil || !s.Started.Equal(h.Started) {
			return err
		}
		s.PendingHandoff = nil
		e.schedule(s)
		return e.save(wctx, s, nil)
	})
	if err != nil {
		e.log.Error("recording the posted handoff", "conversation", LogKey(h.Key), "err", err)
	}
}

// CloseHandoff implements HandoffCloser: staff closed the handoff of the
// conversation at a.
func (e *Engine) CloseHandoff(ctx context.Context, a Address, started time.Time) ([]Reply, bool, error) {
	key := a.Key()
	var closed bool
	err := e.locked(ctx, key, func() error {
		s, err := e.load(ctx, key)
		// Buttons carry whole seconds.
		if err != nil || s == nil || !s.HandedOff || !started.IsZero() && s.Started.Unix() != started.Unix() {
			closed = false
			return err
		}
		s.HandedOff, s.PendingHandoff = false, nil
		s.Updated = e.now()
		e.schedule(s)
		if err := e.save(ctx, s, nil); err != nil {
			return err
		}
		closed = true
		e.log.Info("handoff closed by staff", "conversation", LogKey(key), "platform", a.Platform)
		return nil
	})
	if err != nil || !closed {
		return nil, false, err
	}
	return []Reply{{Text: HandoffClosedNotice, Done: true}}, true, nil
}

// locked runs fn holding the conversation's turn slot (and lease, on shared
// stores), retrying it while the session changes underneath.
func (e *Engine) locked(ctx context.Context, key string, fn func() error) error {
	if err := e.queue.acquire(ctx, key); err != nil {
		return err
	}
	defer e.queue.release(key)
	if l, ok := e.store.(Locker); ok {
		lctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
		t0 := time.Now()
		unlock, err := l.Lock(lctx, key, e.cfg.LeaseTTL)
		e.obs.StoreOp("lock", time.Since(t0), err)
		cancel()
		if err != nil {
			return fmt.Errorf("lease conversation: %w", err)
		}
		defer unlock()
	}
	for range maxConflictRetries {
		err := fn()
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return ErrBusy
}

// load returns the stored session, nil when there is none.
func (e *Engine) load(ctx context.Context, key string) (*Session, error) {
	lctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
	defer cancel()
	t0 := time.Now()
	s, err := e.store.Load(lctx, key)
	if errors.Is(err, ErrNotFound) {
		e.obs.StoreOp("load", time.Since(t0), nil)
		return nil, nil
	}
	e.obs.StoreOp("load", time.Since(t0), err)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	return s, nil
}

// Current returns the question the conversation at a is waiting on, without
// changing anything: what a console shows when a person comes back. The
// result has no replies when no question is waiting (no conversation, an
// ended one, or one handed to staff or closed for inactivity; the last two
// set Listening).
func (e *Engine) Current(ctx context.Context, a Address) (Result, error) {
	key := a.Key()
	if err := e.queue.acquire(ctx, key); err != nil {
		return Result{}, err
	}
	defer e.queue.release(key)
	s, err := e.load(ctx, key)
	if err != nil || s == nil || s.Guide == "" {
		return Result{}, err
	}
	listening := Result{Step: s.Step, GuideVersion: s.GuideVersion, Done: s.Done, Outcome: s.Outcome, Listening: true}
	switch {
	case s.HandedOff, s.Done && s.Outcome == OutcomeExpired:
		return listening, nil
	case s.Done:
		return Result{}, nil
	case e.now().Sub(s.Updated) >= e.cfg.IdleTimeout:
		// Expired, not yet swept: the next message offers to resume.
		listening.Done, listening.Outcome = true, OutcomeExpired
		return listening, nil
	}
	var replies []Reply
	err = e.guard(s, func() error {
		var ferr error
		replies, ferr = e.flow.Current(s)
		return ferr
	})
	if err != nil {
		return Result{}, fmt.Errorf("flow %s at step %q: %w", s.Guide, s.Step, err)
	}
	return Result{Replies: replies, Step: s.Step, GuideVersion: s.GuideVersion}, nil
}

// humanDuration renders whole hours or minutes for people ("24 hours").
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	default:
		return d.String()
	}
}

// Handler is what adapters deliver messages to; *Engine implements it.
type Handler interface {
	// Handle processes one message and returns the replies to send.
	Handle(ctx context.Context, m Message) (Result, error)
}

var _ Handler = (*Engine)(nil)

// TroubleReply is what adapters say when Handle fails: short, honest, and
// an invitation to try again, since the message was not applied.
const TroubleReply = "Sorry, I'm having trouble on my side right now. Please send that again in a moment."

// Adapter connects a chat platform to a Handler.
type Adapter interface {
	// Name is the platform's name, as in Address.Platform.
	Name() string
	// Run connects and delivers every message to h until ctx is done, then
	// disconnects cleanly and returns nil; it returns an error only when
	// it cannot keep running (bad credentials, say).
	Run(ctx context.Context, h Handler) error
}

// LogKey is how a conversation key appears in logs: a short hash, so that
// logs can follow one conversation without recording who had it.
func LogKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}
