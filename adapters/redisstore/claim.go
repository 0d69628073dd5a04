package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"troubleshooter/bot"
)

// Compile-time check that Store implements bot.Claimer.
var _ bot.Claimer = (*Store)(nil)

var (
	errEmptyClaim = errors.New("redis claim: empty id")
	errClaimTTL   = errors.New("redis claim: ttl must be positive")
)

// claimKey is where the claim of id lives; Redis expires it with the claim.
func (st *Store) claimKey(id string) string { return st.cfg.Prefix + "c:" + id }

// Claim implements bot.Claimer with one SET NX PX: Redis makes the check
// and the record one step for every replica, and drops the key when the
// claim ends. A ttl under a millisecond is rounded up to one (Redis's
// unit).
func (st *Store) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := st.check(ctx); err != nil {
		return false, err
	}
	if id == "" {
		return false, errEmptyClaim
	}
	if ttl <= 0 {
		return false, errClaimTTL
	}
	ttl = max(ttl, time.Millisecond)
	ok, err := st.rdb.SetNX(ctx, st.claimKey(id), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis claim: %w", err)
	}
	return ok, nil
}
