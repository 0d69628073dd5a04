package bot

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Outcome kinds: how a conversation ended.
const (
	OutcomeResolved  = "resolved"  // a fix worked
	OutcomeEscalated = "escalated" // the guide ran out; handed to humans
	OutcomeStopped   = "stopped"   // the person said stop
	OutcomeExpired   = "expired"   // idle longer than the configured time
	OutcomeRestarted = "restarted" // the person started over mid-way
)

// maxRecentEvents bounds the event ids a session remembers for dedupe: a
// redelivery is recognised while fewer than this many newer events of the
// same conversation have been handled since. Platforms redeliver within
// seconds to minutes, and one person's pace is limited (throttle), so 64
// covers every realistic retry while keeping sessions small. (Found by the
// store conformance suite: with 32, 50 concurrent events each delivered
// twice let an early event's redelivery slip through.)
const maxRecentEvents = 64

// Session is the saved state of one conversation. It is plain data: the
// engine restores the conversation's state machine from it on every message
// and never persists anything else.
type Session struct {
	Key          string            `json:"key"`
	Address      Address           `json:"address"`
	Guide        string            `json:"guide"`
	GuideVersion string            `json:"guide_version"`
	Step         string            `json:"step"`
	Answers      map[string]string `json:"answers,omitempty"`
	// History holds one frame per answered question, oldest first, so that
	// "back" can undo answers one at a time.
	History []Frame `json:"history,omitempty"`
	// Events are the most recent event ids handled, for dedupe. They are
	// saved with the state they produced, so a redelivery is recognised
	// exactly when its effect is durable.
	Events  []string  `json:"events,omitempty"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Done is set when the conversation ended; Outcome then says how.
	Done    bool   `json:"done,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// HandedOff is set while an escalated conversation waits for staff:
	// the bot stays quiet until staff close it or the person restarts.
	HandedOff bool `json:"handed_off,omitempty"`
	// PendingHandoff is the handoff still to be posted to staff: set with
	// HandedOff in the escalating turn's save and cleared once posted, so
	// that a crash in between leaves it for the sweeper to post.
	PendingHandoff *Handoff `json:"pending_handoff,omitempty"`
	// Offer names a question the flow asked outside the guide that the
	// conversation now waits on ("resume": pick up after an expiry, or
	// start over); "" when it waits on its step.
	Offer string `json:"offer,omitempty"`
	// Nudged is set once the person was reminded after going quiet; an
	// answer clears it.
	Nudged bool `json:"nudged,omitempty"`
	// Due is when the engine's sweeper should next look at this session
	// (to nudge or to expire it); zero when nothing is pending. Stores
	// index it (Store.Due).
	Due time.Time `json:"due,omitzero"`
	// Timer is the sweeper's own timer (nudge, expiry, handoff) while
	// Outbox is not empty, when Due may be earlier for the outbox's sake;
	// zero otherwise (Due is then the timer).
	Timer time.Time `json:"timer,omitzero"`
	// Outbox holds the replies of recent turns not yet confirmed posted,
	// oldest first, on platforms that keep an outbox (Engine.KeepOutbox).
	// Each entry is saved with the turn that produced it, in the same
	// compare-and-swap, and removed once the platform took it.
	Outbox []OutboxEntry `json:"outbox,omitempty"`
	// Turn is a random id of the last turn saved, so that a turn whose
	// save timed out can tell whether that save landed (see settle).
	Turn string `json:"turn,omitempty"`
	// Version is the store's compare-and-swap counter: 0 for a session that
	// was never saved. Stores set it; nobody else should.
	Version uint64 `json:"version"`
}

// Frame records one answered question: the step it was asked on and the
// answer variable it set, with that variable's previous value.
type Frame struct {
	Step    string `json:"step"`
	Var     string `json:"var,omitempty"`
	Prev    string `json:"prev,omitempty"`
	HadPrev bool   `json:"had_prev,omitempty"`
}

// Outcome is the record of one finished conversation (or, with Kind
// OutcomeStarted, of one that began), kept for reporting.
type Outcome struct {
	Key          string `json:"key"`
	Platform     string `json:"platform"`
	Guide        string `json:"guide"`
	GuideVersion string `json:"guide_version"`
	Kind         string `json:"kind"`
	// Step is where it ended: for resolved and escalated conversations the
	// last step the person answered (the fix that worked, or the last one
	// tried), otherwise the question left unanswered.
	Step  string   `json:"step"`
	Tried []string `json:"tried,omitempty"` // fix steps answered, in order
	// Path lists the steps the conversation reached, in order, each once
	// (for the per-step funnel); empty on OutcomeStarted records.
	Path    []string  `json:"path,omitempty"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
}

// SeenEvent reports whether id is among the session's recent event ids.
// The empty id is never seen.
func (s *Session) SeenEvent(id string) bool {
	return id != "" && slices.Contains(s.Events, id)
}

// RememberEvent adds id to the recent event ids, forgetting the oldest past
// the bound. The empty id is ignored.
func (s *Session) RememberEvent(id string) {
	if id == "" {
		return
	}
	if len(s.Events) >= maxRecentEvents {
		s.Events = slices.Delete(s.Events, 0, len(s.Events)-maxRecentEvents+1)
	}
	s.Events = append(s.Events, id)
}

// SetAnswer stores value under name and pushes a history frame for step so
// that Back can undo it.
func (s *Session) SetAnswer(step, name, value string) {
	prev, had := s.Answers[name]
	s.History = append(s.History, Frame{Step: step, Var: name, Prev: prev, HadPrev: had})
	if s.Answers == nil {
		s.Answers = make(map[string]string)
	}
	s.Answers[name] = value
}

// Back undoes the last answer: it restores the variable that answer set and
// returns the step it was asked on. ok is false when nothing was answered.
func (s *Session) Back() (step string, ok bool) {
	if len(s.History) == 0 {
		return "", false
	}
	f := s.History[len(s.History)-1]
	s.History = s.History[:len(s.History)-1]
	if f.Var != "" {
		if f.HadPrev {
			s.Answers[f.Var] = f.Prev
		} else {
			delete(s.Answers, f.Var)
		}
	}
	return f.Step, true
}

// Reset clears the conversation's progress but keeps its identity, its
// recent event ids and its store version, so the next save still
// compare-and-swaps against the stored copy.
func (s *Session) Reset(now time.Time) {
	*s = Session{
		Key:     s.Key,
		Address: s.Address,
		Events:  s.Events,
		Started: now,
		Updated: now,
		Version: s.Version,
	}
}

// MarshalSession encodes s in the format every store persists.
func MarshalSession(s *Session) ([]byte, error) {
	return json.Marshal(s)
}

// UnmarshalSession decodes data written by MarshalSession. A corrupt record
// is an error, never a half-filled session.
func UnmarshalSession(data []byte) (*Session, error) {
	var s Session
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode session: %w: %w", ErrCorrupt, err)
	}
	if s.Key == "" {
		return nil, fmt.Errorf("decode session: %w: record has no key", ErrCorrupt)
	}
	return &s, nil
}
