package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
)

// Running counts (bot.Tallier).
//
// The tallies bucket holds one entry per bot.TallyKey (its String, so keys
// sort by hour): the bucket's counts in a compact encoding, see
// encodeCounts. Save applies bot.TallyAdds of its records in the same
// transaction as the records, so the counts always agree with the outcome
// log; a report reads a few hundred small entries instead of every record.

// talliesBucket is the bucket of running counts.
var talliesBucket = []byte("tallies")

var _ bot.Tallier = (*Store)(nil)

// tallyChunk is how many buckets Tallies reads per read transaction; fn is
// called between transactions, never inside one (fn may save, and a write
// that grows the file waits for open read transactions).
const tallyChunk = 256

// mergeAdds sums bot.TallyAdds of every record in outs by bucket and
// field (nil when they add nothing), so that each bucket's entry is read and
// rewritten once per save. Save calls it before its transaction: the
// transaction is serialized across the process, the encoding is not.
func mergeAdds(outs []bot.Outcome) map[bot.TallyKey]map[string]int64 {
	var byKey map[bot.TallyKey]map[string]int64
	for i := range outs {
		for _, a := range bot.TallyAdds(outs[i]) {
			if byKey == nil {
				byKey = map[bot.TallyKey]map[string]int64{}
			}
			m := byKey[a.Bucket]
			if m == nil {
				m = map[string]int64{}
				byKey[a.Bucket] = m
			}
			m[a.Field] += a.N
		}
	}
	return byKey
}

// applyTallies adds the counts of byKey (mergeAdds) to the tallies bucket
// of tx; byKey is only read.
func applyTallies(tx *bbolt.Tx, byKey map[bot.TallyKey]map[string]int64) error {
	if len(byKey) == 0 {
		return nil
	}
	tb, err := bucket(tx, talliesBucket)
	if err != nil {
		return err
	}
	return writeTallies(tb, byKey)
}

// writeTallies adds the counts of byKey to the entries of tb.
func writeTallies(tb *bbolt.Bucket, byKey map[bot.TallyKey]map[string]int64) error {
	for k, add := range byKey {
		key := []byte(k.String())
		counts, err := decodeCounts(tb.Get(key))
		if err != nil {
			return fmt.Errorf("boltstore: tallies %s: %w: %w", key, ErrCorrupt, err)
		}
		for f, n := range add {
			counts[f] += n
		}
		// Put keeps both slices until commit: both are fresh.
		if err := tb.Put(key, encodeCounts(counts)); err != nil {
			return fmt.Errorf("boltstore: tallies %s: %w", key, err)
		}
	}
	return nil
}

// encodeCounts is the compact form of a bucket's counts: for each field,
// sorted, its length (uvarint), its bytes and its count (varint). A bucket
// of a guide with 30 steps is about 1.5 kB.
func encodeCounts(counts map[string]int64) []byte {
	fields := make([]string, 0, len(counts))
	size := 0
	for f := range counts {
		fields = append(fields, f)
		size += len(f) + 2*binary.MaxVarintLen64
	}
	sort.Strings(fields)
	out := make([]byte, 0, size)
	for _, f := range fields {
		out = binary.AppendUvarint(out, uint64(len(f)))
		out = append(out, f...)
		out = binary.AppendVarint(out, counts[f])
	}
	return out
}

// decodeCounts is the inverse of encodeCounts, into a fresh map; nil or
// empty data is no counts. It copies the field names out of data, which
// bbolt only keeps valid inside the transaction.
func decodeCounts(data []byte) (map[string]int64, error) {
	counts := map[string]int64{}
	return counts, decodeInto(counts, data)
}

// decodeInto adds the counts encoded in data to counts.
func decodeInto(counts map[string]int64, data []byte) error {
	for len(data) > 0 {
		n, w := binary.Uvarint(data)
		if w <= 0 || uint64(len(data)-w) < n {
			return errors.New("bad field length")
		}
		data = data[w:]
		f := string(data[:n])
		data = data[n:]
		c, w := binary.Varint(data)
		if w <= 0 {
			return errors.New("bad count")
		}
		data = data[w:]
		counts[f] += c
	}
	return nil
}

// Tallies implements bot.Tallier: it calls fn for each bucket whose hour is
// at or after since truncated to the hour, in time order (then by guide),
// reading tallyChunk buckets per short read transaction and calling fn
// outside any transaction, so fn may call the store. The map passed to fn
// is reused for the next bucket. ctx is checked before every chunk; a
// corrupt entry stops the iteration with an error naming it.
func (st *Store) Tallies(ctx context.Context, since time.Time, fn func(bot.TallyKey, map[string]int64) error) error {
	from := since.Truncate(time.Hour)
	var start []byte
	if from.Unix() >= 0 {
		// Keys of hours before 1970 would start with '-' and sort
		// first; without them a seek to the first hour wanted is exact.
		start = []byte(bot.TallyKey{Hour: from}.String())
	}
	type entry struct {
		key  bot.TallyKey
		data []byte
	}
	var after []byte
	counts := map[string]int64{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.closed.Load() {
			return bot.ErrClosed
		}
		if err := st.broken(); err != nil {
			return err
		}
		var chunk []entry
		scanned := 0
		err := st.view(func(tx *bbolt.Tx) error {
			b, err := bucket(tx, talliesBucket)
			if err != nil {
				return err
			}
			c := b.Cursor()
			var k, v []byte
			switch {
			case after != nil:
				if k, v = c.Seek(after); string(k) == string(after) {
					k, v = c.Next()
				}
			case start != nil:
				k, v = c.Seek(start)
			default:
				k, v = c.First()
			}
			for ; k != nil && scanned < tallyChunk; k, v = c.Next() {
				scanned++
				after = append(after[:0], k...)
				key, err := bot.ParseTallyKey(string(k))
				if err != nil {
					return fmt.Errorf("boltstore: tallies: %w: %w", ErrCorrupt, err)
				}
				if key.Hour.Before(from) {
					continue
				}
				chunk = append(chunk, entry{key, append([]byte(nil), v...)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range chunk {
			clear(counts)
			if err := decodeInto(counts, e.data); err != nil {
				return fmt.Errorf("boltstore: tallies %s: %w: %w", e.key, ErrCorrupt, err)
			}
			if err := fn(e.key, counts); err != nil {
				return err
			}
		}
		if scanned < tallyChunk {
			return nil
		}
	}
}

// rebuildTallies recomputes the tallies bucket of tx from every outcome
// record: for a file written before the store kept tallies (Open), and for
// a recovered copy (Recover). Records that cannot be decoded count nothing,
// as Outcomes would refuse them anyway. It logs what it did, once.
func rebuildTallies(tx *bbolt.Tx, path string) error {
	t0 := time.Now()
	if tx.Bucket(talliesBucket) != nil {
		if err := tx.DeleteBucket(talliesBucket); err != nil {
			return fmt.Errorf("boltstore: tallies: %w", err)
		}
	}
	tb, err := tx.CreateBucket(talliesBucket)
	if err != nil {
		return fmt.Errorf("boltstore: tallies: %w", err)
	}
	ob, err := bucket(tx, outcomesBucket)
	if err != nil {
		return err
	}
	byKey := map[bot.TallyKey]map[string]int64{}
	records, skipped := 0, 0
	err = ob.ForEach(func(k, v []byte) error {
		var o bot.Outcome
		if err := json.Unmarshal(v, &o); err != nil {
			skipped++
			return nil
		}
		records++
		for key, add := range mergeAdds([]bot.Outcome{o}) {
			m := byKey[key]
			if m == nil {
				byKey[key] = add
				continue
			}
			for f, n := range add {
				m[f] += n
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := writeTallies(tb, byKey); err != nil {
		return err
	}
	slog.Info("boltstore: rebuilt the running counts from the outcome records",
		"path", path, "records", records, "undecodable", skipped, "buckets", len(byKey), "took", time.Since(t0).Round(time.Millisecond))
	return nil
}
