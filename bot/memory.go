package bot

import (
	"context"
	"errors"
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// memoryShards is the number of independently locked parts of a
// MemoryStore's session map. A power of two, so a hash picks one with a mask.
const memoryShards = 64

// MemoryStore is a Store that keeps everything in process memory. Nothing
// survives the process: it exists for tests, benchmarks and demos.
//
// It is safe for concurrent use by many goroutines. Sessions are stored as
// deep copies taken at Save and handed out as deep copies at Load, so
// neither the saver nor a loader can change the stored state except through
// Save. Every method checks its context once, at the start: an in-memory
// operation never blocks on anything but a short lock, so a context that is
// canceled while it runs is not observed.
//
// The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	seed   maphash.Seed
	closed atomic.Bool
	shards [memoryShards]memoryShard

	mu       sync.RWMutex // guards outcomes and tallies
	outcomes []Outcome    // sorted by Ended; equal Ended in Save order
	// tallies holds the running counts (Tallier) per bucket, updated under
	// the same locks as the records they count.
	tallies map[TallyKey]map[string]int64

	claims claimSet
}

type memoryShard struct {
	mu       sync.RWMutex
	sessions map[string]*Session // values are never mutated once stored
	_        [32]byte            // pad to a 64-byte cache line
}

// Compile-time checks that MemoryStore implements Store, Claimer and
// Tallier.
var (
	_ Store   = (*MemoryStore)(nil)
	_ Claimer = (*MemoryStore)(nil)
	_ Tallier = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty, open MemoryStore.
func NewMemoryStore() *MemoryStore {
	m := &MemoryStore{seed: maphash.MakeSeed(), tallies: make(map[TallyKey]map[string]int64)}
	for i := range m.shards {
		m.shards[i].sessions = make(map[string]*Session)
	}
	return m
}

func (m *MemoryStore) shard(key string) *memoryShard {
	return &m.shards[maphash.String(m.seed, key)&(memoryShards-1)]
}

// Load returns a deep copy of the session saved under key, or an error
// matching ErrNotFound when there is none. It returns ctx.Err() if ctx is
// already done, and ErrClosed after Close.
func (m *MemoryStore) Load(ctx context.Context, key string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := m.shard(key)
	sh.mu.RLock()
	if m.closed.Load() {
		sh.mu.RUnlock()
		return nil, ErrClosed
	}
	stored := sh.sessions[key]
	sh.mu.RUnlock()
	if stored == nil {
		return nil, ErrNotFound
	}
	// Stored sessions are immutable, so the copy needs no lock.
	return cloneSession(stored), nil
}

// loadTurn is Load for the engine's turn: it also returns the stored
// session itself (immutable, so the engine may keep it as the turn's base
// without a copy; nil with s), and s has room for the event id and the
// answer frame a turn adds, so that those appends do not copy again.
// ErrNotFound is a nil session and a nil error, as Engine.load has it.
func (m *MemoryStore) loadTurn(ctx context.Context, key string) (s, stored *Session, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	sh := m.shard(key)
	sh.mu.RLock()
	if m.closed.Load() {
		sh.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	stored = sh.sessions[key]
	sh.mu.RUnlock()
	if stored == nil {
		return nil, nil, nil
	}
	c := *stored
	s = &c
	s.Answers = maps.Clone(stored.Answers)
	s.History = append(make([]Frame, 0, len(stored.History)+1), stored.History...)
	room := 1
	if len(stored.Events) >= maxRecentEvents {
		room = 0 // RememberEvent drops the oldest in place
	}
	s.Events = append(make([]string, 0, len(stored.Events)+room), stored.Events...)
	s.Outbox = cloneOutbox(stored.Outbox)
	if stored.PendingHandoff != nil {
		h := *stored.PendingHandoff
		s.PendingHandoff = &h
	}
	// Times in the store have no monotonic reading already (Save and
	// saveOwned strip it), so the copy needs no Round(0).
	return s, stored, nil
}

// Save stores a deep copy of s under s.Key, and copies of outcomes, and
// adds TallyAdds of each outcome to the running counts, as one atomic step:
// a concurrent Load, Outcomes or Tallies sees either all or none of it.
// It is a compare-and-swap on s.Version as Store.Save describes: on success
// s.Version is incremented; on ErrConflict, or any other error, neither the
// store nor s changes. Save returns ctx.Err() if ctx is already done,
// ErrClosed after Close, and an error for a nil session or an empty key
// (which no store can load back).
func (m *MemoryStore) Save(ctx context.Context, s *Session, outcomes []Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return errNilSession
	}
	if s.Key == "" {
		return errEmptyKey
	}
	// Copy outside the locks: Save holds them only for the swap.
	return m.put(s, cloneSession(s), outcomes)
}

// saveOwned is Save for a session its caller (the engine's turn) will
// never touch again: the store keeps s itself instead of a copy, saving
// the copy's allocations on every turn. s must share no memory with
// anything the caller still uses, except strings; its outbox, whose
// replies share their choices with the turn's result, is copied.
func (m *MemoryStore) saveOwned(ctx context.Context, s *Session, outcomes []Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.Key == "" {
		return errEmptyKey
	}
	s.Started, s.Updated, s.Due, s.Timer = s.Started.Round(0), s.Updated.Round(0), s.Due.Round(0), s.Timer.Round(0)
	s.Outbox = cloneOutbox(s.Outbox)
	return m.put(s, s, outcomes)
}

// put swaps next (a copy of s, or s itself) in for s's stored version,
// with outcomes, as Save describes; on success s.Version (and
// next.Version) is the new version.
func (m *MemoryStore) put(s, next *Session, outcomes []Outcome) error {
	version := s.Version
	var (
		recs []Outcome
		adds []TallyAdd
	)
	if len(outcomes) > 0 {
		recs = make([]Outcome, len(outcomes))
		for i := range outcomes {
			recs[i] = cloneOutcome(outcomes[i])
			if a := TallyAdds(recs[i]); adds == nil {
				adds = a // most saves carry one record: no second slice
			} else {
				adds = append(adds, a...)
			}
		}
	}

	sh := m.shard(s.Key)
	sh.mu.Lock()
	if m.closed.Load() {
		sh.mu.Unlock()
		return ErrClosed
	}
	var have uint64
	if cur := sh.sessions[s.Key]; cur != nil {
		have = cur.Version
	}
	if have != version {
		sh.mu.Unlock()
		return ErrConflict
	}
	next.Version = version + 1
	sh.sessions[s.Key] = next
	if len(recs) > 0 {
		// Lock order: shard, then outcomes. Holding the shard lock makes
		// the session, its outcomes and their counts appear together.
		m.mu.Lock()
		for _, o := range recs {
			m.insertOutcome(o)
		}
		for _, a := range adds {
			b := m.tallies[a.Bucket]
			if b == nil {
				b = make(map[string]int64)
				m.tallies[a.Bucket] = b
			}
			b[a.Field] += a.N
		}
		m.mu.Unlock()
	}
	sh.mu.Unlock()
	if s != next {
		// When s is next (saveOwned), it is the stored session now, read
		// without locks by loaders: written above, under the lock.
		s.Version = version + 1
	}
	return nil
}

// insertOutcome adds o after every record that ended at or before it. Records
// almost always arrive in order, so this is nearly always an append.
// m.mu must be held.
func (m *MemoryStore) insertOutcome(o Outcome) {
	n := len(m.outcomes)
	if n == 0 || !o.Ended.Before(m.outcomes[n-1].Ended) {
		m.outcomes = append(m.outcomes, o)
		return
	}
	i := sort.Search(n, func(i int) bool { return m.outcomes[i].Ended.After(o.Ended) })
	m.outcomes = slices.Insert(m.outcomes, i, o)
}

// Delete removes the session under key; deleting a missing key returns nil.
// Outcome records are kept. Delete returns ctx.Err() if ctx is already done
// and ErrClosed after Close.
func (m *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	delete(sh.sessions, key)
	return nil
}

// Outcomes calls fn with a copy of every outcome record whose Ended is at or
// after since, oldest first (records with equal Ended in the order they
// were saved), and stops at fn's first error, returning it. It iterates over
// a snapshot taken at the call, so fn may use the store. It returns
// ctx.Err() if ctx is already done, and ErrClosed after Close.
func (m *MemoryStore) Outcomes(ctx context.Context, since time.Time, fn func(Outcome) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	if m.closed.Load() {
		m.mu.RUnlock()
		return ErrClosed
	}
	i := sort.Search(len(m.outcomes), func(i int) bool { return !m.outcomes[i].Ended.Before(since) })
	snap := slices.Clone(m.outcomes[i:])
	m.mu.RUnlock()
	for _, o := range snap {
		o.Tried, o.Path = slices.Clone(o.Tried), slices.Clone(o.Path)
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// Tallies implements Tallier: it calls fn with a copy of each bucket whose
// hour is at or after since truncated to the hour, oldest hour first (and
// by guide within an hour), and stops at fn's first error, returning it.
// It iterates over a snapshot taken at the call, so fn may use the store
// and may keep or change the map. It returns ctx.Err() if ctx is already
// done, and ErrClosed after Close.
func (m *MemoryStore) Tallies(ctx context.Context, since time.Time, fn func(TallyKey, map[string]int64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	from := since.Truncate(time.Hour)
	type bucket struct {
		key    TallyKey
		counts map[string]int64
	}
	m.mu.RLock()
	if m.closed.Load() {
		m.mu.RUnlock()
		return ErrClosed
	}
	var snap []bucket
	for k, counts := range m.tallies {
		if !k.Hour.Before(from) {
			snap = append(snap, bucket{k, maps.Clone(counts)})
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(snap, func(a, b bucket) int {
		if c := a.key.Hour.Compare(b.key.Hour); c != 0 {
			return c
		}
		return strings.Compare(a.key.Guide, b.key.Guide)
	})
	for _, b := range snap {
		if err := fn(b.key, b.counts); err != nil {
			return err
		}
	}
	return nil
}

// Due calls fn with the key of every session whose Due is set and not
// after now, earliest first, as Store.Due describes. It scans every
// session: the memory store holds few, and a scan needs no index to keep in
// step. fn runs on a snapshot, so it may use the store.
func (m *MemoryStore) Due(ctx context.Context, now time.Time, fn func(key string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type due struct {
		key string
		at  time.Time
	}
	var list []due
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		if m.closed.Load() {
			sh.mu.RUnlock()
			return ErrClosed
		}
		for k, s := range sh.sessions {
			if !s.Due.IsZero() && !s.Due.After(now) {
				list = append(list, due{k, s.Due})
			}
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(list, func(a, b due) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for _, d := range list {
		if err := fn(d.key); err != nil {
			return err
		}
	}
	return nil
}

// Close discards the store's contents. Every later call, including another
// Close, returns ErrClosed. Close waits for calls already holding a lock, so
// once it returns no Save can still succeed.
func (m *MemoryStore) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		sh.sessions = nil
		sh.mu.Unlock()
	}
	m.mu.Lock()
	m.outcomes, m.tallies = nil, nil
	m.mu.Unlock()
	m.claims.close()
	return nil
}

// Claim implements Claimer within this process: every goroutine using the
// store sees one claim per id within ttl. It returns ctx.Err() if ctx is
// already done and ErrClosed after Close.
func (m *MemoryStore) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if m.closed.Load() {
		return false, ErrClosed
	}
	return m.claims.claim(ctx, id, ttl, time.Now())
}

// processClaims backs Engine.Claim over a store that is not a Claimer:
// claims then hold within this process only. Platform ids (trigger ids,
// interaction ids) are unique, so one set serves every engine.
var processClaims claimSet

// minClaimPrune is the number of claims a claimSet holds before it first
// looks for expired ones.
const minClaimPrune = 1024

// claimSet records claimed ids until their expiry. Expired entries are
// pruned lazily: when the set has doubled since the last prune, so the cost
// is amortised constant per claim and the set stays within twice the ids
// claimed in the last ttl. The zero value is an empty, open set.
type claimSet struct {
	mu     sync.Mutex
	until  map[string]time.Time // id → end of its claim
	prune  int                  // prune when len(until) reaches this
	closed bool
}

func (c *claimSet) claim(ctx context.Context, id string, ttl time.Duration, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if id == "" {
		return false, errEmptyClaim
	}
	if ttl <= 0 {
		return false, errClaimTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, ErrClosed
	}
	if end, ok := c.until[id]; ok && now.Before(end) {
		return false, nil
	}
	if c.until == nil {
		c.until = make(map[string]time.Time)
	}
	if len(c.until) >= max(c.prune, minClaimPrune) {
		for k, end := range c.until {
			if !now.Before(end) {
				delete(c.until, k)
			}
		}
		c.prune = 2 * len(c.until)
	}
	c.until[id] = now.Add(ttl)
	return true, nil
}

func (c *claimSet) close() {
	c.mu.Lock()
	c.closed, c.until = true, nil
	c.mu.Unlock()
}

var (
	errNilSession = errors.New("save: nil session")
	errEmptyKey   = errors.New("save: session has no key")
	errEmptyClaim = errors.New("claim: empty id")
	errClaimTTL   = errors.New("claim: ttl must be positive")
)

// cloneSession returns a deep copy of s that shares no memory with it. Times
// lose their monotonic clock reading, as they do in a persistent store.
// Adding a reference-typed field to Session, Frame or Address requires
// updating this function (TestCloneSessionCoversFields guards it).
func cloneSession(s *Session) *Session {
	c := *s
	c.Answers = maps.Clone(s.Answers)
	c.History = slices.Clone(s.History)
	c.Events = slices.Clone(s.Events)
	c.Started = s.Started.Round(0)
	c.Updated = s.Updated.Round(0)
	c.Due = s.Due.Round(0)
	c.Timer = s.Timer.Round(0)
	c.Outbox = cloneOutbox(s.Outbox)
	if s.PendingHandoff != nil {
		h := *s.PendingHandoff
		c.PendingHandoff = &h
	}
	return &c
}

// cloneOutcome returns a deep copy of o, without monotonic clock readings.
func cloneOutcome(o Outcome) Outcome {
	o.Tried = slices.Clone(o.Tried)
	o.Path = slices.Clone(o.Path)
	o.Started = o.Started.Round(0)
	o.Ended = o.Ended.Round(0)
	return o
}
