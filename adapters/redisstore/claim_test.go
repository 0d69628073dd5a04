package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClaimAcrossReplicas: two replicas (two clients over one Redis and one
// prefix) claim the same ids at once; each id has exactly one first claim.
func TestClaimAcrossReplicas(t *testing.T) {
	a, b := openReplicas(t)
	const ids, per = 20, 10
	var firsts [ids]atomic.Int64
	var wg sync.WaitGroup
	for i := range ids {
		for j := range per {
			st := a
			if j%2 == 1 {
				st = b
			}
			wg.Go(func() {
				first, err := st.Claim(context.Background(), "slash:"+string(rune('A'+i)), 10*time.Minute)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts[i].Add(1)
				}
			})
		}
	}
	wg.Wait()
	for i := range ids {
		if n := firsts[i].Load(); n != 1 {
			t.Errorf("id %d: %d first claims over 2 replicas, want 1", i, n)
		}
	}
	// The key expires with the claim: Redis, not the bot, forgets it.
	pttl, err := a.rdb.PTTL(context.Background(), a.claimKey("slash:A")).Result()
	if err != nil || pttl <= 9*time.Minute || pttl > 10*time.Minute {
		t.Errorf("claim key PTTL = %v, %v; want about 10m", pttl, err)
	}
}
