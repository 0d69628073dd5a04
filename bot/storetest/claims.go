package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/bot"
)

// claimer returns the store as a bot.Claimer,
// skipping the test when the store is not one.
func claimer(t *testing.T, st bot.Store) (bot.Store, bot.Claimer) {
	t.Helper()
	c, ok := st.(bot.Claimer)
	if !ok {
		t.Skip("the store is not a bot.Claimer")
	}
	return st, c
}

// testClaimOnce has 50 goroutines claim one id at once, half directly and
// half through two engines over the store (as two replicas' adapters do):
// exactly one is first.
func testClaimOnce(t *testing.T, st bot.Store) {
	raw, c := claimer(t, st)
	engines := []*bot.Engine{bot.NewEngine(raw, &counterFlow{}, bot.EngineConfig{}, nil), bot.NewEngine(raw, &counterFlow{}, bot.EngineConfig{}, nil)}
	const n = 50
	var firsts atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			claim := c.Claim
			if i%2 == 1 {
				claim = engines[i/2%2].Claim
			}
			first, err := claim(context.Background(), "slash:T123.456", 10*time.Minute)
			if err != nil {
				t.Error(err)
			}
			if first {
				firsts.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := firsts.Load(); got != 1 {
		t.Errorf("%d goroutines claimed one id: %d were first, want exactly 1", n, got)
	}
}

// testClaimExpires checks that a claim holds for its ttl and no longer.
func testClaimExpires(t *testing.T, st bot.Store) {
	_, c := claimer(t, st)
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	claim := func(want bool, when string) {
		t.Helper()
		first, err := c.Claim(ctx, "interaction:1", ttl)
		if err != nil {
			t.Fatalf("Claim %s: %v", when, err)
		}
		if first != want {
			t.Errorf("Claim %s = %v, want %v", when, first, want)
		}
	}
	claim(true, "the first time")
	claim(false, "again within ttl")
	time.Sleep(ttl + 200*time.Millisecond)
	claim(true, "after ttl")
	claim(false, "again within the new ttl")
}

// testClaimIndependent checks that ids do not affect each other, including
// ids that are prefixes of one another, and that many live claims coexist.
func testClaimIndependent(t *testing.T, st bot.Store) {
	_, c := claimer(t, st)
	ctx := context.Background()
	ids := []string{"a", "ab", "b", "slash:1", "slash:12", "interaction:1", "ünïcode/id with spaces"}
	for i := range 100 {
		ids = append(ids, "bulk:"+strconv.Itoa(i))
	}
	for _, round := range []bool{true, false} {
		for _, id := range ids {
			first, err := c.Claim(ctx, id, time.Minute)
			if err != nil {
				t.Fatalf("Claim(%q): %v", id, err)
			}
			if first != round {
				t.Errorf("Claim(%q) = %v, want %v", id, first, round)
			}
		}
	}
}

// testClaimErrors checks the error cases of the contract: a bad id or
// ttl, a done context (claiming nothing) and a closed store.
func testClaimErrors(t *testing.T, st bot.Store) {
	_, c := claimer(t, st)
	ctx := context.Background()
	if _, err := c.Claim(ctx, "", time.Minute); err == nil {
		t.Error("Claim with an empty id succeeded")
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := c.Claim(ctx, "x", ttl); err == nil {
			t.Errorf("Claim with ttl %v succeeded", ttl)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Claim(canceled, "y", time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Claim with a canceled context = %v, want context.Canceled", err)
	}
	if first, err := c.Claim(ctx, "y", time.Minute); err != nil || !first {
		t.Errorf("Claim after a canceled claim = %v, %v; want first (nothing was claimed)", first, err)
	}
	if first, err := c.Claim(ctx, "x", time.Minute); err != nil || !first {
		t.Errorf("Claim after refused claims = %v, %v; want first", first, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Claim(ctx, "z", time.Minute); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Claim after Close = %v, want ErrClosed", err)
	}
}
