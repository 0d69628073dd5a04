package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"troubleshooter/bot"
)

// Running counts (bot.Tallier).
//
// Each bucket (bot.TallyKey) is a hash PREFIX "t:" + TallyKey.String() of
// field → count, and the sorted set PREFIX "tallies" lists the buckets
// scored by their Unix hour. The save script adds bot.TallyAdds of its
// records with HINCRBY in the same script as the records, so the counts
// always agree with them.
//
// Migration of a keyspace written before the store kept tallies happens on
// Open, once per keyspace, whichever replica gets there first:
//
//   - Open atomically notes, if not yet noted, the outcome sequence number
//     reached so far (PREFIX "tallies:from"). Every record saved by a store
//     that has passed this point (this code) is counted by its save; those
//     numbered up to "from" were saved without counts.
//   - Under a lock key (PREFIX "tallies:lock", expiring after
//     migrateLockTTL) the replica reads the records numbered up to "from",
//     sums their TallyAdds in memory and adds the sums in one script that
//     also sets PREFIX "tallies:built"; the script does nothing if another
//     replica finished first. A replica that dies midway wrote nothing; the
//     next Open after the lock expires starts over. Replicas that find the
//     lock taken do not wait: counts of old records appear when the rebuild
//     ends (the report is then briefly short of them).
//
// During a rolling upgrade, records saved by replicas still running older
// code after the first new replica opened are not counted; restart the old
// replicas promptly (or delete the three tallies:* keys and every t:* key
// with all replicas stopped, and the next Open recounts everything).

// migrateLockTTL bounds how long a rebuilding replica holds the rebuild.
const migrateLockTTL = 5 * time.Minute

func (st *Store) tallyKey(k string) string { return st.cfg.Prefix + "t:" + k }

// tallyArgs appends to the save script's keys and args the running-count
// changes of outcomes (see saveScript), merged per bucket and field.
func (st *Store) tallyArgs(outcomes []bot.Outcome, keys []string, args []any) ([]string, []any) {
	byKey := map[bot.TallyKey]map[string]int64{}
	for i := range outcomes {
		for _, a := range bot.TallyAdds(outcomes[i]) {
			m := byKey[a.Bucket]
			if m == nil {
				m = map[string]int64{}
				byKey[a.Bucket] = m
			}
			m[a.Field] += a.N
		}
	}
	return appendTallies(st, byKey, keys, args)
}

// appendTallies appends byKey to keys and args in the layout of saveScript
// (and of rebuildScript): one key per bucket, then per bucket its hour, its
// name, its number of fields and the (field, count) pairs.
func appendTallies(st *Store, byKey map[bot.TallyKey]map[string]int64, keys []string, args []any) ([]string, []any) {
	names := make([]string, 0, len(byKey))
	byName := make(map[string]bot.TallyKey, len(byKey))
	for k := range byKey {
		n := k.String()
		names = append(names, n)
		byName[n] = k
	}
	sort.Strings(names) // the same order every time: easier to read in MONITOR
	for _, n := range names {
		k := byName[n]
		keys = append(keys, st.tallyKey(n))
		args = append(args, k.Hour.Unix()/3600, n, len(byKey[k]))
		for f, c := range byKey[k] {
			args = append(args, f, c)
		}
	}
	return keys, args
}

// tallyPipe is how many buckets Tallies reads per pipelined round trip.
const tallyPipe = 256

// Tallies implements bot.Tallier: one round trip lists the buckets from
// since's hour on (time order, then guide), then each 256 buckets' counts
// come in one pipelined round trip; fn runs between round trips and may
// call the store. The map passed to fn is reused for the next bucket. A
// count that is not a number stops the iteration with an error naming its
// bucket. Buckets saved while Tallies runs may or may not be seen.
func (st *Store) Tallies(ctx context.Context, since time.Time, fn func(bot.TallyKey, map[string]int64) error) error {
	if err := st.check(ctx); err != nil {
		return err
	}
	from := since.Truncate(time.Hour).Unix() / 3600
	names, err := st.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: st.tallyIndex, Start: strconv.FormatInt(from, 10), Stop: "+inf", ByScore: true,
	}).Result()
	if err != nil {
		return fmt.Errorf("redis tallies: %w", err)
	}
	counts := map[string]int64{}
	for len(names) > 0 {
		page := names[:min(tallyPipe, len(names))]
		names = names[len(page):]
		if err := st.check(ctx); err != nil {
			return err
		}
		cmds := make([]*redis.MapStringStringCmd, len(page))
		_, err := st.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range page {
				cmds[i] = p.HGetAll(ctx, st.tallyKey(n))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redis tallies: %w", err)
		}
		for i, n := range page {
			k, err := bot.ParseTallyKey(n)
			if err != nil {
				return fmt.Errorf("redis tallies: %w", err)
			}
			clear(counts)
			for f, v := range cmds[i].Val() {
				c, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return fmt.Errorf("redis tallies %s %q: not a count: %q", n, f, v)
				}
				counts[f] = c
			}
			if err := fn(k, counts); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteFromScript marks where counting began (KEYS[3] "tallies:from": the
// outcome sequence KEYS[2] reached) unless it is marked already, and
// returns it; -1 when the old records were counted (KEYS[1] "built").
var noteFromScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('SET', KEYS[3], redis.call('GET', KEYS[2]) or '0', 'NX')
return tonumber(redis.call('GET', KEYS[3]))
`)

// rebuildScript adds the counts of the records saved before counting
// began, unless that was done already (KEYS[1] "built"), then marks it done
// and releases the rebuild lock (KEYS[2], if it holds ARGV[1]). KEYS[3] is
// the tally index, KEYS[4…] the buckets; ARGV[2…] as saveScript's tally
// part. Returns 1 if it added, 0 if another replica had.
var rebuildScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local i = 2
for k = 4, #KEYS do
  redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i+1])
  local n = tonumber(ARGV[i+2])
  i = i + 3
  for _ = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i+1])
    i = i + 2
  end
end
redis.call('SET', KEYS[1], '1')
return 1
`)

// migrateTallies counts the records saved before the store kept tallies,
// once per keyspace; see the comment at the top of this file.
func (st *Store) migrateTallies(ctx context.Context) error {
	built, lock := st.cfg.Prefix+"tallies:built", st.cfg.Prefix+"tallies:lock"
	from, err := noteFromScript.Run(ctx, st.rdb, []string{built, st.outcomes + ":seq", st.cfg.Prefix + "tallies:from"}).Int64()
	if err != nil {
		return fmt.Errorf("note where running counts begin: %w", err)
	}
	if from < 0 {
		return nil
	}
	token := st.newToken()
	ok, err := st.rdb.SetNX(ctx, lock, token, migrateLockTTL).Result()
	if err != nil {
		return fmt.Errorf("running counts: %w", err)
	}
	if !ok {
		slog.Info("redis store: another replica is counting the outcome records saved before running counts")
		return nil
	}
	t0 := time.Now()
	byKey := map[bot.TallyKey]map[string]int64{}
	records := 0
	err = st.scanOutcomes(ctx, time.Time{}, func(seq int64, o bot.Outcome) error {
		if seq > from {
			return nil // saved by a store that counted it
		}
		records++
		for _, a := range bot.TallyAdds(o) {
			m := byKey[a.Bucket]
			if m == nil {
				m = map[string]int64{}
				byKey[a.Bucket] = m
			}
			m[a.Field] += a.N
		}
		return nil
	})
	if err != nil {
		// Leave the lock to expire rather than release it: the next
		// Open retries then, not at once in a loop.
		return fmt.Errorf("count the outcome records saved before running counts: %w", err)
	}
	keys, args := appendTallies(st, byKey, []string{built, lock, st.tallyIndex}, []any{token})
	added, err := rebuildScript.Run(ctx, st.rdb, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("write the running counts of older records: %w", err)
	}
	if added == 1 && records > 0 {
		slog.Info("redis store: counted the outcome records saved before running counts",
			"records", records, "buckets", len(byKey), "took", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}
