package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"troubleshooter/bot"
)

// A message's turn in two round trips: LockLoad takes the lease and reads
// the session in one script, SaveUnlock saves and releases in another
// (saveScript). Before, a turn made four: SET NX (lease), HMGET (load),
// the save script, and the unlock script.

var (
	_ bot.LeaseLoader  = (*Store)(nil)
	_ bot.SaveUnlocker = (*Store)(nil)
)

func (st *Store) leaseKey(key string) string { return st.cfg.Prefix + "l:" + key }

// newToken is a lease token no other lease of any process uses.
func (st *Store) newToken() string {
	return strconv.FormatUint(st.tokens.Add(1), 36) + ":" + st.id
}

// lease is one lease this process took. released is set once it was given
// back (by its unlock function or by SaveUnlock), so each releases once.
type lease struct {
	token    string
	released atomic.Bool
}

// leases are the leases this process holds, by conversation key, so that
// SaveUnlock finds the token to release. The engine's turn queue holds at
// most one per key per process; a newer lease on a key replaces an older
// one (which then expired in Redis).
type leases struct {
	mu sync.Mutex
	m  map[string]*lease
}

// hold records the lease on key with token and returns its unlock
// function: it releases the lease in Redis if it is still ours and was not
// released yet. A failed release only delays the next turn until the lease
// expires, so it is best effort.
func (ls *leases) hold(st *Store, key, token string) func() {
	l := &lease{token: token}
	ls.mu.Lock()
	if ls.m == nil {
		ls.m = map[string]*lease{}
	}
	ls.m[key] = l
	ls.mu.Unlock()
	return func() {
		if l.released.Swap(true) {
			return
		}
		ls.forget(key, l)
		uctx, cancel := context.WithTimeout(context.Background(), st.cfg.Timeout)
		defer cancel()
		_ = unlockScript.Run(uctx, st.rdb, []string{st.leaseKey(key)}, token).Err()
	}
}

// held returns the lease on key this process holds and has not released.
func (ls *leases) held(key string) *lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.m[key]; l != nil && !l.released.Load() {
		return l
	}
	return nil
}

// forget drops l from the registry if it is still key's entry.
func (ls *leases) forget(key string, l *lease) {
	ls.mu.Lock()
	if ls.m[key] == l {
		delete(ls.m, key)
	}
	ls.mu.Unlock()
}

// lockLoadScript takes the lease (KEYS[1]) with token ARGV[1] for ARGV[2]
// ms if it is free and then reads the session hash (KEYS[2]): {1, v, d}
// when taken (v and d nil without a session), {0} when someone holds it.
var lockLoadScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local s = redis.call('HMGET', KEYS[2], 'v', 'd')
return {1, s[1], s[2]}
`)

// LockLoad implements bot.LeaseLoader: it takes the lease on key for ttl
// (rounded up to a millisecond) and reads its session in one round trip,
// waiting while another holder has the lease (one round trip per try, every
// 2 ms), until ctx ends. s is nil, with a nil error, when no session is
// stored. A session that cannot be decoded, or holds another key, is an
// error matching bot.ErrCorrupt returned with the lease held and its unlock
// function, so that the caller can clear the record under the lease; on
// every other error unlock is nil and no lease is held. unlock releases the lease if it is
// still ours and SaveUnlock has not released it already; it is safe to call
// more than once. If the reply to a try is lost (network error), the lease
// may be ours without our knowing: it is released in the background once
// Redis answers again, as Lock does.
func (st *Store) LockLoad(ctx context.Context, key string, ttl time.Duration) (*bot.Session, func(), error) {
	if err := st.check(ctx); err != nil {
		return nil, nil, err
	}
	token := st.newToken()
	lk := st.leaseKey(key)
	ms := max(ttl, time.Millisecond).Milliseconds()
	for {
		res, err := st.runTurnScript(ctx, lockLoadScript, []string{lk, st.sessionKey(key)}, token, ms).Slice()
		if err != nil {
			if !replied(err) {
				// Ordered: the script may still be waiting in the turns'
				// pipeline (given up at ctx), and a release sent ahead of
				// it on another connection would find nothing to release.
				st.goReleaseLost(lk, token, ttl, true)
			}
			return nil, nil, fmt.Errorf("redis lock: %w", err)
		}
		if n, _ := res[0].(int64); n == 1 {
			unlock := st.leases.hold(st, key, token)
			var v, d any
			if len(res) > 1 {
				v = res[1]
			}
			if len(res) > 2 {
				d = res[2]
			}
			s, err := decodeSession(key, v, d)
			switch {
			case errors.Is(err, bot.ErrNotFound):
				return nil, unlock, nil
			case err != nil:
				// Keep the lease: the caller clears the record (Delete)
				// and starts afresh while holding it.
				return nil, unlock, err
			}
			return s, unlock, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("redis lock: conversation busy: %w", ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// replied reports whether err is an answer from Redis (a script error):
// otherwise the request may have run without its reply reaching us.
func replied(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// SaveUnlock implements bot.SaveUnlocker: Save, and, when it succeeds,
// release of the lease this process holds on s.Key (taken by Lock or
// LockLoad, and still ours in Redis), all in one script and one round trip.
// The unlock function of that lease then does nothing. On any error,
// ErrConflict included, the lease is kept. Without a lease held here it is
// Save.
func (st *Store) SaveUnlock(ctx context.Context, s *bot.Session, outcomes []bot.Outcome) error {
	if s == nil {
		return st.save(ctx, s, outcomes, "")
	}
	l := st.leases.held(s.Key)
	if l == nil {
		return st.save(ctx, s, outcomes, "")
	}
	if err := st.save(ctx, s, outcomes, l.token); err != nil {
		return err
	}
	if !l.released.Swap(true) {
		st.leases.forget(s.Key, l)
	}
	return nil
}

// RoundTrips is how many requests this store's client has sent to Redis
// since Open: each command or script call sent on its own counts one, and so
// does each pipeline, however many commands it carries (the scripts of
// concurrent turns share pipelines, see Store.turns). A script Redis had
// not cached counts three (EVALSHA, SCRIPT LOAD, EVALSHA); retries after a
// network error are not counted apart, nor is the set-up of the plain client's connections
// (the pipelined connections' set-up, HELLO and CLIENT SETINFO, does
// count). Benchmarks divide it by messages handled. Safe for concurrent use.
func (st *Store) RoundTrips() int64 { return st.trips.Load() }

// Commands is how many commands this store's client has sent to Redis since
// Open, inside pipelines or not (a script call is one command): a turn is
// two, LockLoad and SaveUnlock, whether or not they shared a pipeline with
// other turns'. Safe for concurrent use.
func (st *Store) Commands() int64 { return st.cmds.Load() }

// tripCounter is the go-redis hook behind RoundTrips and Commands.
type tripCounter struct{ trips, cmds *atomic.Int64 }

func (h tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.trips.Add(1)
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.trips.Add(1)
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
