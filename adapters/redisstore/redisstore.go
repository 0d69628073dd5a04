// Package redisstore keeps sessions and outcome records in Redis, so that
// several bot replicas share them. It implements bot.Store with
// compare-and-swap saves (a Lua script) and sessions that expire by TTL,
// bot.Locker, bot.Claimer, and bot.Tallier (running counts kept by the save
// script, see tally.go).
//
// A message costs the engine two round trips: LockLoad takes the
// conversation's lease and reads its session in one script, SaveUnlock saves
// it (with its outcome records, their running counts and the due index) and
// releases the lease in another (lease.go). RoundTrips counts them.
//
// It needs one Redis primary (or Sentinel); Redis Cluster is not supported,
// because a save touches a session key, the shared outcomes key and the
// running counts in one script.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"troubleshooter/bot"
)

// Config configures the Redis store.
type Config struct {
	// URL is the Redis address, e.g. redis://127.0.0.1:6379/0 (rediss://
	// for TLS, with user and password in the URL). Default: the REDIS_URL
	// environment variable, read by main.
	URL string `yaml:"url"`
	// Prefix namespaces every key, so that several bots can share a Redis.
	// Default "troubleshooter:".
	Prefix string `yaml:"prefix"`
	// SessionTTL is how long an untouched session is kept. Default 48h:
	// twice the engine's default idle time, so that the engine still sees
	// an idle session and records its expiry before Redis forgets it.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// Timeout bounds each network round trip. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultSessionTTL is Config.SessionTTL's default.
const DefaultSessionTTL = 48 * time.Hour

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "troubleshooter:"
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	return c
}

// Store is a bot.Store in Redis. It is safe for concurrent use by many
// goroutines and many processes.
type Store struct {
	rdb      *redis.Client
	cfg      Config
	outcomes string
	due      string // sorted set of session keys by Session.Due
	closed   atomic.Bool
	id       string        // this client's random id, part of lease tokens
	tokens   atomic.Uint64 // lease token counter

	// turns runs the two scripts of a turn (LockLoad, save), see
	// runTurnScript: go-redis's deferred autopipeliner, which sends
	// concurrent turns' scripts in shared pipelines (one write and one
	// read for many), in order; nil if it could not be made.
	turns *redis.AutoPipeliner

	tallyIndex string       // sorted set of tally bucket names by hour
	leases     leases       // this process's leases, for SaveUnlock
	trips      atomic.Int64 // see RoundTrips

	// releases are the releaseLost calls running; Close waits for them a
	// while, then stops them (releasesStopped).
	releases        sync.WaitGroup
	releasesStopped atomic.Bool
	cmds            atomic.Int64 // see Commands
}

var _ bot.Store = (*Store)(nil)

// Open connects to the Redis at cfg.URL and checks that it answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if cfg.URL == "" {
		return nil, errors.New("redis store: no URL (set REDIS_URL, e.g. redis://127.0.0.1:6379/0)")
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// The URL may hold a password: name the problem, not the URL.
		return nil, fmt.Errorf("redis store: REDIS_URL is not a redis:// or rediss:// URL: %w", redactErr(err, cfg.URL))
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opts.MaxRetries = 1
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	st := &Store{rdb: redis.NewClient(opts), cfg: cfg, outcomes: cfg.Prefix + "outcomes", due: cfg.Prefix + "due", id: hex.EncodeToString(idb[:]),
		tallyIndex: cfg.Prefix + "tallies"}
	st.rdb.AddHook(tripCounter{&st.trips, &st.cmds})
	if ap, err := st.rdb.AsyncAutoPipelineWithOptions(redis.DefaultBlockingAutoPipelineOptions()); err == nil {
		st.turns = ap
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := st.rdb.Ping(pctx).Err(); err != nil {
		st.rdb.Close()
		return nil, fmt.Errorf("redis store: cannot reach %s: %w", opts.Addr, err)
	}
	if err := st.migrateTallies(ctx); err != nil {
		st.rdb.Close()
		return nil, fmt.Errorf("redis store: %w", err)
	}
	return st, nil
}

// redactErr keeps a secret-bearing URL out of an error message.
func redactErr(err error, url string) error {
	msg := err.Error()
	// url.Error quotes the URL with %q, escaping quotes and backslashes in
	// the password: replace both spellings.
	quoted := strconv.Quote(url)
	msg = strings.ReplaceAll(msg, quoted[1:len(quoted)-1], "REDIS_URL")
	return errors.New(strings.ReplaceAll(msg, url, "REDIS_URL"))
}

func (st *Store) sessionKey(key string) string { return st.cfg.Prefix + "s:" + key }

func (st *Store) check(ctx context.Context) error {
	if st.closed.Load() {
		return bot.ErrClosed
	}
	return ctx.Err()
}

// Load implements bot.Store.
func (st *Store) Load(ctx context.Context, key string) (*bot.Session, error) {
	if err := st.check(ctx); err != nil {
		return nil, err
	}
	vals, err := st.rdb.HMGet(ctx, st.sessionKey(key), "v", "d").Result()
	if err != nil {
		return nil, fmt.Errorf("redis load: %w", err)
	}
	return decodeSession(key, vals[0], vals[1])
}

// decodeSession is the session stored under key from its hash fields v
// (version) and d (data), as Redis returned them; ErrNotFound when either
// is missing (nil), and an error matching bot.ErrCorrupt when they do not
// decode or hold another key (Delete clears the record).
func decodeSession(key string, v, d any) (*bot.Session, error) {
	if v == nil || d == nil {
		return nil, bot.ErrNotFound
	}
	version, err := strconv.ParseUint(fmt.Sprint(v), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redis load %s: %w: version: %w", bot.LogKey(key), bot.ErrCorrupt, err)
	}
	s, err := bot.UnmarshalSession([]byte(fmt.Sprint(d)))
	if err != nil {
		return nil, fmt.Errorf("redis load %s: %w: %w", bot.LogKey(key), bot.ErrCorrupt, err)
	}
	if s.Key != key {
		return nil, fmt.Errorf("redis load %s: %w: record holds key %s", bot.LogKey(key), bot.ErrCorrupt, bot.LogKey(s.Key))
	}
	s.Version = version
	return s, nil
}

// saveScript is the compare-and-swap: it writes the session, appends the
// outcomes and adds their running counts only if the stored version is the
// expected one, all atomically; when a lease token is given and the save
// succeeds, it also releases this process's lease (SaveUnlock), so a turn
// ends in one round trip.
//
// KEYS: 1 session, 2 outcomes, 3 outcome sequence, 4 due index, 5 lease,
// 6 tally index, 7… one hash per tally bucket.
// ARGV: 1 expected version, 2 next version, 3 session data, 4 TTL (ms),
// 5 due (ms, or empty), 6 session key, 7 lease token (or empty), 8 number of
// outcome records N, then N pairs (end time in ms, record), then per tally
// bucket (in KEYS order): its hour, its member in the index, its number of
// fields F, then F pairs (field, count).
//
// Outcome members are prefixed with a sequence number so that records with
// equal times keep their save order and are never merged.
var saveScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur == false and ARGV[1] ~= '0') or (cur ~= false and cur ~= ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[4], ARGV[6])
else
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
end
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  local seq = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], ARGV[i], string.format('%020d', seq) .. ARGV[i+1])
  i = i + 2
end
for k = 7, #KEYS do
  redis.call('ZADD', KEYS[6], ARGV[i], ARGV[i+1])
  local n = tonumber(ARGV[i+2])
  i = i + 3
  for _ = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i+1])
    i = i + 2
  end
end
if ARGV[7] ~= '' and redis.call('GET', KEYS[5]) == ARGV[7] then
  redis.call('DEL', KEYS[5])
end
return 1
`)

// Save implements bot.Store. The running counts of outcomes (Tallies) are
// added in the same script as the records.
func (st *Store) Save(ctx context.Context, s *bot.Session, outcomes []bot.Outcome) error {
	return st.save(ctx, s, outcomes, "")
}

// save is Save, releasing the lease on s.Key held with token too when
// token is not "" and the save succeeds.
func (st *Store) save(ctx context.Context, s *bot.Session, outcomes []bot.Outcome, token string) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	if s == nil || s.Key == "" {
		return errors.New("redis save: session has no key")
	}
	next := s.Version + 1
	copyS := *s
	copyS.Version = next
	data, err := bot.MarshalSession(&copyS)
	if err != nil {
		return fmt.Errorf("redis save: %w", err)
	}
	due := ""
	if !s.Due.IsZero() {
		due = strconv.FormatInt(s.Due.UnixMilli(), 10)
	}
	keys := []string{st.sessionKey(s.Key), st.outcomes, st.outcomes + ":seq", st.due, st.leaseKey(s.Key), st.tallyIndex}
	args := []any{strconv.FormatUint(s.Version, 10), strconv.FormatUint(next, 10), data, st.cfg.SessionTTL.Milliseconds(), due, s.Key, token, len(outcomes)}
	for _, o := range outcomes {
		enc, err := marshalOutcome(o)
		if err != nil {
			return fmt.Errorf("redis save: %w", err)
		}
		args = append(args, o.Ended.UnixMilli(), enc)
	}
	keys, args = st.tallyArgs(outcomes, keys, args)
	ok, err := st.runTurnScript(ctx, saveScript, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("redis save: %w", err)
	}
	if ok == 0 {
		return bot.ErrConflict
	}
	s.Version = next
	return nil
}

// Delete implements bot.Store.
func (st *Store) Delete(ctx context.Context, key string) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	_, err := st.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, st.sessionKey(key))
		p.ZRem(ctx, st.due, key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

// duePage is how many keys Due reads per round trip.
const duePage = 256

// Due implements bot.Store from a sorted set scored by Session.Due in
// milliseconds. It lists every due key first, then calls fn, so that fn
// (or another replica) clearing timers cannot make the listing skip keys.
// A session that Redis expired by TTL leaves its entry behind until the
// caller Deletes the key (the engine does when it finds no session).
func (st *Store) Due(ctx context.Context, now time.Time, fn func(key string) error) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	max := strconv.FormatInt(now.UnixMilli(), 10)
	var keys []string
	for {
		// Pages are read before fn runs. Another replica clearing timers
		// between two pages can still shift the offset and hide a key
		// from this listing; the next sweep finds it. A key listed twice
		// is called once.
		page, err := st.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: st.due, Start: "-inf", Stop: max, ByScore: true, Offset: int64(len(keys)), Count: duePage,
		}).Result()
		if err != nil {
			return fmt.Errorf("redis due: %w", err)
		}
		keys = append(keys, page...)
		if len(page) < duePage {
			break
		}
	}
	seen := make(map[string]bool, len(keys))
	for _, key := range keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

// outcomePage is how many records Outcomes reads per round trip.
const outcomePage = 256

// Outcomes implements bot.Store. Records are scored by their end time in
// milliseconds; since is honoured exactly.
func (st *Store) Outcomes(ctx context.Context, since time.Time, fn func(bot.Outcome) error) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	return st.scanOutcomes(ctx, since, func(_ int64, o bot.Outcome) error { return fn(o) })
}

// scanOutcomes is Outcomes, passing fn each record's sequence number too.
func (st *Store) scanOutcomes(ctx context.Context, since time.Time, fn func(seq int64, o bot.Outcome) error) error {
	// Pages continue from the last score read, skipping the records with
	// that score already seen, so records saved meanwhile with older end
	// times cannot shift a page (an offset from the start would repeat or
	// skip records).
	min := strconv.FormatInt(since.UnixMilli(), 10)
	var sameScore int64 // records already read with score == min
	for {
		page, err := st.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: st.outcomes, Start: min, Stop: "+inf", ByScore: true, Offset: sameScore, Count: outcomePage,
		}).Result()
		if err != nil {
			return fmt.Errorf("redis outcomes: %w", err)
		}
		for _, z := range page {
			m, _ := z.Member.(string)
			if len(m) < 20 {
				return fmt.Errorf("redis outcomes: corrupt record %q", m)
			}
			seq, err := strconv.ParseInt(m[:20], 10, 64)
			if err != nil {
				return fmt.Errorf("redis outcomes: corrupt record %q", m)
			}
			o, err := unmarshalOutcome([]byte(m[20:]))
			if err != nil {
				return fmt.Errorf("redis outcomes: %w", err)
			}
			score := strconv.FormatInt(int64(z.Score), 10)
			if score == min {
				sameScore++
			} else {
				min, sameScore = score, 1
			}
			if o.Ended.Before(since) {
				continue
			}
			if err := fn(seq, o); err != nil {
				return err
			}
		}
		if len(page) < outcomePage {
			return nil
		}
	}
}

// Ping reports whether Redis answers, for readiness checks.
func (st *Store) Ping(ctx context.Context) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	return st.rdb.Ping(ctx).Err()
}

var _ bot.Locker = (*Store)(nil)

// unlockScript deletes the lease only if it still holds our token, so a
// holder whose lease expired cannot release someone else's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// lockPoll is how often a waiting replica retries a held lease.
const lockPoll = 2 * time.Millisecond

// Lock implements bot.Locker with SET NX PX and a random token.
func (st *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	if err := st.check(ctx); err != nil {
		return nil, err
	}
	token := st.newToken()
	lk := st.leaseKey(key)
	for {
		ok, err := st.rdb.SetNX(ctx, lk, token, ttl).Result()
		if err != nil {
			// The SETNX may have reached Redis with only its reply lost
			// (a timeout during an outage): then the lease is ours, and
			// nobody would release it, blocking the conversation for ttl
			// after Redis is back. Release it in the background, once
			// Redis answers again, for as long as the lease could live.
			st.goReleaseLost(lk, token, ttl, false)
			return nil, fmt.Errorf("redis lock: %w", err)
		}
		if ok {
			return st.leases.hold(st, key, token), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redis lock: conversation busy: %w", ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// goReleaseLost starts releaseLost in the background, where Close waits
// for it (a while).
func (st *Store) goReleaseLost(lk, token string, ttl time.Duration, ordered bool) {
	st.releases.Add(1)
	go func() {
		defer st.releases.Done()
		st.releaseLost(lk, token, ttl, ordered)
	}()
}

// releaseLost deletes lease lk if it holds token, retrying until it
// succeeds, the lease must have expired anyway (ttl), or Close gives up on
// it. Ordered, the release goes through the turns' pipeline, behind the
// LockLoad that may have taken the lease (it runs one batch at a time, in
// order); otherwise on the plain client, as Lock's own requests do.
func (st *Store) releaseLost(lk, token string, ttl time.Duration, ordered bool) {
	deadline := time.Now().Add(ttl)
	for time.Now().Before(deadline) && !st.releasesStopped.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), st.cfg.Timeout)
		var err error
		if ordered {
			err = st.runTurnScript(ctx, unlockScript, []string{lk}, token).Err()
		} else {
			err = unlockScript.Run(ctx, st.rdb, []string{lk}, token).Err()
		}
		cancel()
		if err == nil || errors.Is(err, redis.Nil) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DeletePrefix deletes every key under the store's prefix: sessions and
// outcomes. It is for throwaway data such as benchmarks and tests.
func (st *Store) DeletePrefix(ctx context.Context) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	iter := st.rdb.Scan(ctx, 0, st.cfg.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := st.rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// Close implements bot.Store.
func (st *Store) Close() error {
	if st.closed.Swap(true) {
		return bot.ErrClosed
	}
	// Leases whose LockLoad was given up on are released first, while the
	// client can still send (a deploy would otherwise leave them locked
	// for their TTL on the other replicas); a Redis that does not answer
	// gets the store's timeout, twice, and no more.
	released := make(chan struct{})
	go func() { st.releases.Wait(); close(released) }()
	select {
	case <-released:
	case <-time.After(2 * st.cfg.Timeout):
	}
	st.releasesStopped.Store(true)
	return st.rdb.Close()
}

func marshalOutcome(o bot.Outcome) ([]byte, error) { return json.Marshal(o) }

func unmarshalOutcome(data []byte) (bot.Outcome, error) {
	var o bot.Outcome
	err := json.Unmarshal(data, &o)
	return o, err
}

// runTurnScript runs script (EVALSHA; if Redis lacks the script, SCRIPT
// LOAD on the plain client and EVALSHA again) in the turns' shared pipelines, waiting no longer
// than ctx. Why not the blocking autopipeliner: it waits for the pipeline
// whatever the caller's context says, and while Redis is down a pipeline
// takes go-redis's whole dial back-off (seconds) to fail, so every turn
// ran to its turn_timeout before the person was told. Given up on at ctx's
// end, the command may still run later; the caller treats it as an
// unanswered round trip (a lease released in the background, a save whose
// fate is unknown), as for a network error. Both stay safe because this
// pipeline runs one batch at a time, in order: a lease's release
// (releaseLost, ordered) and settle's fencing save (Save) queue behind the
// command given up on.
func (st *Store) runTurnScript(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if st.turns == nil {
		return script.Run(ctx, st.rdb, keys, args...)
	}
	cmd := st.submitScript(ctx, script.Hash(), keys, args)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := script.Load(ctx, st.rdb).Err(); err != nil {
			cmd = redis.NewCmd(ctx)
			cmd.SetErr(err)
			return cmd
		}
		cmd = st.submitScript(ctx, script.Hash(), keys, args)
	}
	return cmd
}

// submitScript sends one EVALSHA through st.turns and waits for it or for
// ctx.
func (st *Store) submitScript(ctx context.Context, sha string, keys []string, args []any) *redis.Cmd {
	flat := make([]any, 0, 3+len(keys)+len(args))
	flat = append(flat, "evalsha", sha, len(keys))
	for _, k := range keys {
		flat = append(flat, k)
	}
	flat = append(flat, args...)
	cmd := redis.NewCmd(ctx, flat...)
	if err := st.turns.Submit(ctx, cmd).WaitContext(ctx); err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The batch may still fill cmd in: answer with a command of our
		// own rather than race it.
		late := redis.NewCmd(ctx, flat...)
		late.SetErr(err)
		return late
	}
	return cmd
}
