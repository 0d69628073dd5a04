package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
)

// Claims live in two buckets, created on first use: claimsBucket maps an
// id to the end of its claim (8 bytes, timeKey), and claimEndsBucket indexes
// the same claims by end then id, so that expired ones are found from its
// start. Each Claim prunes at most claimPrune expired claims, so the cost of
// pruning is bounded per call and the buckets hold about the ids claimed in
// the last ttl.
var (
	claimsBucket    = []byte("claims")
	claimEndsBucket = []byte("claim_ends")
)

const claimPrune = 64

// Compile-time check that Store implements bot.Claimer.
var _ bot.Claimer = (*Store)(nil)

var (
	errEmptyClaim = errors.New("boltstore: claim: empty id")
	errClaimTTL   = errors.New("boltstore: claim: ttl must be positive")
)

// Claim implements bot.Claimer: the check and the record are one write
// transaction, durable when Claim returns true, so a claim survives a
// restart over the same file. Only one process opens the file, so the
// claim holds for every goroutine of that process and for whoever opens the
// file after it. Claims end by this machine's wall clock.
func (st *Store) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if st.closed.Load() {
		return false, bot.ErrClosed
	}
	if id == "" {
		return false, errEmptyClaim
	}
	if ttl <= 0 {
		return false, errClaimTTL
	}
	now := time.Now()
	var first bool
	// Update, not Batch: a claim is made before anything is posted, so it
	// should not wait for a batch to fill; claims are rare next to saves.
	err := st.db.Update(func(tx *bbolt.Tx) error {
		ids, err := tx.CreateBucketIfNotExists(claimsBucket)
		if err != nil {
			return err
		}
		ends, err := tx.CreateBucketIfNotExists(claimEndsBucket)
		if err != nil {
			return err
		}
		if err := pruneClaims(ids, ends, timeKey(now)); err != nil {
			return err
		}
		k := []byte(id)
		if v := ids.Get(k); v != nil {
			if len(v) == 8 && binary.BigEndian.Uint64(v) > timeKey(now) {
				return nil // claimed, not yet ended
			}
			// Ended but not yet pruned, or unreadable: replace it.
			if err := ends.Delete(claimEndKey(v, k)); err != nil {
				return err
			}
		}
		var end [8]byte
		binary.BigEndian.PutUint64(end[:], timeKey(now.Add(ttl)))
		if err := ids.Put(k, end[:]); err != nil {
			return err
		}
		if err := ends.Put(claimEndKey(end[:], k), nil); err != nil {
			return err
		}
		first = true
		return nil
	})
	if err != nil {
		return false, st.mapErr(err)
	}
	return first, nil
}

// claimEndKey is the claimEndsBucket key of the claim of id ending at end.
func claimEndKey(end, id []byte) []byte {
	return append(append(make([]byte, 0, len(end)+len(id)), end...), id...)
}

// pruneClaims deletes up to claimPrune claims that ended at or before now.
func pruneClaims(ids, ends *bbolt.Bucket, now uint64) error {
	var stop [8]byte
	binary.BigEndian.PutUint64(stop[:], now)
	c := ends.Cursor()
	for range claimPrune {
		// Seek again after each delete: a cursor may skip an entry after
		// deleting under it.
		k, _ := c.First()
		if len(k) < 8 || bytes.Compare(k[:8], stop[:]) > 0 {
			return nil
		}
		id := k[8:]
		if v := ids.Get(id); v != nil && bytes.Equal(v, k[:8]) {
			if err := ids.Delete(id); err != nil {
				return err
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
