package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// Flow is the guide logic the Engine drives (flows.Runner implements it).
// The Engine owns persistence, ordering, dedupe and expiry; the Flow owns
// what the guide says and where answers lead. Implementations must be safe
// for concurrent use on different sessions.
type Flow interface {
	// Respond applies m to s, mutating s, and returns the bot's turn. A
	// session with no Guide is new: Respond starts it, treating m as the
	// person's opening words. A session handed to staff or expired is
	// passed as it is (the flow stays quiet or offers to resume); any other
	// ended session is reset first, unless the flow is an AfterEndFlow.
	// When the turn ends the conversation, Respond sets s.Done and
	// s.Outcome and returns the outcome record in Turn.Outcomes (a restart
	// mid-way also returns one). When it begins a conversation it returns
	// an OutcomeStarted record: starts are counted from those, by reports
	// and by the Observer, and a flow that returns none has no starts
	// counted.
	Respond(s *Session, m Message) (Turn, error)

	// Current renders the question s is on without changing s.
	Current(s *Session) ([]Reply, error)

	// Outcome builds the record of s ending now as kind (an Outcome*
	// constant), for endings the engine decides, such as expiry.
	Outcome(s *Session, kind string, at time.Time) Outcome
}

// AfterEndFlow is a Flow that answers messages to finished conversations
// itself: the engine passes a session that ended (resolved, escalated
// without staff, stopped) to Respond unchanged instead of resetting it, so
// a "thanks!" can get a short answer while a new problem starts a new
// conversation (Respond resets s for that). RespondsAfterEnd reports
// whether the flow does this.
type AfterEndFlow interface {
	Flow
	RespondsAfterEnd() bool
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
	// nothing was changed and nothing should be sent, unless Outbox is set:
	// the first delivery's replies are then still unconfirmed (and not yet
	// taken by the sweeper), and Replies holds them to post and confirm.
	Duplicate bool
	// Outbox is the id of the outbox entry holding Replies, on platforms
	// that keep one (Engine.KeepOutbox): after posting Replies, the
	// adapter confirms it with Delivered (OutboxConfirmer). "" when the
	// platform keeps no outbox or there is nothing to send. A handoff
	// notice appended to Replies is not part of the entry.
	Outbox string
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
	// TurnTimeout bounds one message's whole turn: waiting behind earlier
	// messages of the conversation, the lease, the load and the save. A
	// turn that cannot finish in time is abandoned, never applied later,
	// and Handle returns an error wrapping ErrTimeout (adapters then say
	// TroubleReply). Default 2s; negative disables the bound.
	TurnTimeout time.Duration `yaml:"turn_timeout"`
	// LeaseTTL bounds how long a replica that stalls or crashes mid-turn
	// keeps a conversation's lease (shared stores only). Default 10s; a
	// turn takes milliseconds.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// OutboxMaxAge is how long the sweeper keeps trying to post replies
	// the adapter never confirmed (KeepOutbox) while the platform fails or
	// the processes that took them die; an entry this old is dropped with
	// an Error log line. Default DefaultOutboxMaxAge (24h).
	OutboxMaxAge time.Duration `yaml:"outbox_max_age"`
}

// DefaultOutboxMaxAge is EngineConfig.OutboxMaxAge's default: a platform
// outage, or a crash loop, of up to a day delays replies but loses none.
const DefaultOutboxMaxAge = 24 * time.Hour

func (c EngineConfig) withDefaults() EngineConfig {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 24 * time.Hour
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 5 * time.Second
	}
	if c.TurnTimeout == 0 {
		c.TurnTimeout = DefaultTurnTimeout
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
	if c.OutboxMaxAge <= 0 {
		c.OutboxMaxAge = DefaultOutboxMaxAge
	}
	return c
}

// Engine turns messages into replies. It handles the messages of one
// conversation strictly one at a time, in arrival order, and different
// conversations in parallel. Each turn's new state is saved durably before
// its replies are returned. Engine is safe for concurrent use.
type Engine struct {
	store Store
	flow  Flow
	// afterEnd: the flow answers finished conversations (AfterEndFlow).
	afterEnd bool
	cfg      EngineConfig
	log      *slog.Logger
	queue    *turnQueue
	now      func() time.Time
	obs      Observer
	// senders and posters are per platform; set before handling starts
	// and read-only after.
	senders map[string]Sender
	posters map[string]HandoffPoster
	// outboxes holds, per platform keeping an outbox, how long its
	// entries wait for confirmation (KeepOutbox).
	outboxes map[string]time.Duration
}

// NewEngine returns an Engine over store and flow. A nil log discards logs.
func NewEngine(store Store, flow Flow, cfg EngineConfig, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ae, ok := flow.(AfterEndFlow)
	return &Engine{
		store:    store,
		flow:     flow,
		afterEnd: ok && ae.RespondsAfterEnd(),
		cfg:      cfg.withDefaults(),
		log:      log,
		queue:    newTurnQueue(),
		now:      time.Now,
		obs:      nopObserver{},

		senders:  map[string]Sender{},
		posters:  map[string]HandoffPoster{},
		outboxes: map[string]time.Duration{},
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
	// A session with no guide but a step waits on a question the flow
	// asked before any guide (the guide menu): it is live too.
	if err != nil || s == nil || s.Guide == "" && s.Step == "" {
		return Result{}, err
	}
	listening := Result{Step: s.Step, GuideVersion: s.GuideVersion, Done: s.Done, Outcome: s.Outcome, Listening: true}
	switch {
	case s.HandedOff, s.Done && s.Outcome == OutcomeExpired:
		return listening, nil
	case s.Done:
		return Result{}, nil
	case s.Guide != "" && e.now().Sub(s.Updated) >= e.cfg.IdleTimeout:
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
