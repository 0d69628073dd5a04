package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
)

// leaseHeld reports whether key's lease exists in Redis.
func leaseHeld(t *testing.T, st *Store, key string) bool {
	t.Helper()
	n, err := st.rdb.Exists(context.Background(), st.leaseKey(key)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestTurnInTwoRoundTrips: LockLoad then SaveUnlock is one round trip each
// (scripts cached), the save releases the lease, and the unlock function
// afterwards sends nothing.
func TestTurnInTwoRoundTrips(t *testing.T) {
	st := openFresh(t, redistest.URL(t))
	ctx := context.Background()
	turn := func(key string) (rt int64) {
		t.Helper()
		before := st.RoundTrips()
		s, unlock, err := st.LockLoad(ctx, key, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if s == nil {
			s = &bot.Session{Key: key}
		}
		s.Step = "step" + strconv.FormatUint(s.Version, 10)
		if err := st.SaveUnlock(ctx, s, []bot.Outcome{{Key: key, Guide: "g", Kind: bot.OutcomeStarted, Started: when, Ended: when}}); err != nil {
			t.Fatal(err)
		}
		unlock()
		unlock()
		rt = st.RoundTrips() - before // unlock after SaveUnlock must send nothing
		if leaseHeld(t, st, key) {
			t.Error("SaveUnlock kept the lease")
		}
		return rt
	}
	turn("warm-up") // loads the scripts into Redis (EVALSHA fails once, SCRIPT LOAD, EVALSHA)
	for i := range 3 {
		if rt := turn("k"); rt != 2 {
			t.Errorf("turn %d took %d round trips, want 2", i, rt)
		}
	}
	s, err := st.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 3 || s.Step != "step2" {
		t.Errorf("after 3 turns: version %d step %q, want 3 and step2", s.Version, s.Step)
	}
}

var when = time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)

// TestLockLoadWaitsAndSaveUnlockKeepsTheLeaseOnConflict: a held lease makes
// LockLoad wait until its holder saves; a conflicting SaveUnlock keeps the
// lease and its unlock then releases it.
func TestLockLoadWaitsAndSaveUnlockKeepsTheLeaseOnConflict(t *testing.T) {
	a, b := openReplicas(t)
	ctx := context.Background()
	s, unlockA, err := a.LockLoad(ctx, "k", 10*time.Second)
	if err != nil || s != nil {
		t.Fatalf("LockLoad of a new key = %v, %v; want nil, nil", s, err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, _, err := b.LockLoad(short, "k", time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockLoad of a held lease = %v, want it to wait until the deadline", err)
	}
	got := make(chan *bot.Session, 1)
	go func() {
		s, unlock, err := b.LockLoad(ctx, "k", time.Second)
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		unlock()
		got <- s
	}()
	// A stale save (version 1 of a key never saved) conflicts and keeps
	// the lease: b still waits.
	if err := a.SaveUnlock(ctx, &bot.Session{Key: "k", Version: 1}, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("stale SaveUnlock = %v, want ErrConflict", err)
	}
	if !leaseHeld(t, a, "k") {
		t.Fatal("a conflicting SaveUnlock released the lease")
	}
	if err := a.SaveUnlock(ctx, &bot.Session{Key: "k", Step: "one"}, nil); err != nil {
		t.Fatal(err)
	}
	unlockA() // a no-op now: must not release b's lease
	s = <-got
	if s == nil || s.Step != "one" || s.Version != 1 {
		t.Fatalf("b loaded %+v, want the session a saved", s)
	}
}

// TestSaveUnlockReleasesOnlyItsOwnLease: when our lease expired and another
// replica holds the key, a successful SaveUnlock leaves that lease alone.
func TestSaveUnlockReleasesOnlyItsOwnLease(t *testing.T) {
	a, b := openReplicas(t)
	ctx := context.Background()
	_, _, err := a.LockLoad(ctx, "k", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	_, unlockB, err := b.LockLoad(ctx, "k", 10*time.Second) // waits for a's lease to expire
	if err != nil {
		t.Fatal(err)
	}
	defer unlockB()
	if err := a.SaveUnlock(ctx, &bot.Session{Key: "k"}, nil); err != nil {
		t.Fatal(err)
	}
	if !leaseHeld(t, b, "k") {
		t.Fatal("a's SaveUnlock released b's lease")
	}
}

// TestLockLoadOfACorruptSessionKeepsTheLease: the error matches
// bot.ErrCorrupt and comes with the lease, for the caller to clear the
// record under it; unlock then releases it.
func TestLockLoadOfACorruptSessionKeepsTheLease(t *testing.T) {
	st := openFresh(t, redistest.URL(t))
	ctx := context.Background()
	if err := st.rdb.HSet(ctx, st.sessionKey("k"), "v", "1", "d", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	s, unlock, err := st.LockLoad(ctx, "k", time.Second)
	if !errors.Is(err, bot.ErrCorrupt) || s != nil || unlock == nil {
		t.Fatalf("LockLoad of a corrupt record = %v, unlock %v, %v; want nil, an unlock, ErrCorrupt", s, unlock != nil, err)
	}
	if !leaseHeld(t, st, "k") {
		t.Fatal("the lease was not kept with ErrCorrupt")
	}
	if _, err := st.Load(ctx, "k"); !errors.Is(err, bot.ErrCorrupt) {
		t.Errorf("Load of a corrupt record = %v, want ErrCorrupt", err)
	}
	unlock()
	if leaseHeld(t, st, "k") {
		t.Fatal("unlock did not release the lease")
	}
}

// benchTurns runs b.N turns (lease, load, save with one outcome, release)
// over 256 conversations, in parallel, and reports round trips per turn.
func benchTurns(b *testing.B, turn func(st *Store, key string) error) {
	st := openFresh(b, redistest.URL(b))
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	before := st.RoundTrips()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := turn(st, fmt.Sprintf("c%d", n.Add(1)%256)); err != nil && !errors.Is(err, bot.ErrConflict) {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(st.RoundTrips()-before)/float64(b.N), "roundtrips/op")
}

func turnOutcome(key string) []bot.Outcome {
	return []bot.Outcome{{Key: key, Guide: "g", Kind: bot.OutcomeResolved, Step: "fix", Path: []string{"a", "fix"}, Started: when, Ended: when}}
}

// BenchmarkRedisTurnOld is a turn as the engine made it before LockLoad and
// SaveUnlock: Lock, Load, Save, unlock (4 round trips).
func BenchmarkRedisTurnOld(b *testing.B) {
	benchTurns(b, func(st *Store, key string) error {
		ctx := context.Background()
		unlock, err := st.Lock(ctx, key, time.Second)
		if err != nil {
			return err
		}
		defer unlock()
		s, err := st.Load(ctx, key)
		if errors.Is(err, bot.ErrNotFound) {
			s, err = &bot.Session{Key: key}, nil
		}
		if err != nil {
			return err
		}
		return st.Save(ctx, s, turnOutcome(key))
	})
}

// BenchmarkRedisTurn is a turn with LockLoad and SaveUnlock (2 round trips).
func BenchmarkRedisTurn(b *testing.B) {
	benchTurns(b, func(st *Store, key string) error {
		ctx := context.Background()
		s, unlock, err := st.LockLoad(ctx, key, time.Second)
		if err != nil {
			return err
		}
		defer unlock()
		if s == nil {
			s = &bot.Session{Key: key}
		}
		return st.SaveUnlock(ctx, s, turnOutcome(key))
	})
}

// TestConcurrentTurnsShareRoundTrips: 64 conversations taking turns at
// once each send two commands per turn (LockLoad, SaveUnlock), none
// lost or reordered within a conversation; the pipelined scripts may share
// round trips, never need more than one each.
func TestConcurrentTurnsShareRoundTrips(t *testing.T) {
	st := openFresh(t, redistest.URL(t))
	ctx := context.Background()
	const convs, turns = 64, 10
	trips0, cmds0 := st.RoundTrips(), st.Commands()
	var wg sync.WaitGroup
	for c := range convs {
		wg.Go(func() {
			key := fmt.Sprintf("c%d", c)
			for i := range turns {
				s, unlock, err := st.LockLoad(ctx, key, 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				if s == nil {
					s = &bot.Session{Key: key}
				}
				if got := s.Answers["n"]; got != strconv.Itoa(i) && !(i == 0 && got == "") {
					t.Errorf("%s turn %d loaded n=%q", key, i, got)
				}
				s.SetAnswer("n", "n", strconv.Itoa(i+1))
				if err := st.SaveUnlock(ctx, s, nil); err != nil {
					t.Error(err)
				}
				unlock()
			}
		})
	}
	wg.Wait()
	cmds, trips := st.Commands()-cmds0, st.RoundTrips()-trips0
	// Beyond the turns' 2 each, only the set-up of the pipelined
	// connections (HELLO, CLIENT SETINFO ×2 each) may show.
	if extra := cmds - 2*convs*turns; extra < 0 || extra > 30 {
		t.Errorf("%d turns sent %d commands, want %d (+ a few for connection set-up)", convs*turns, cmds, 2*convs*turns)
	}
	if trips > cmds {
		t.Errorf("%d round trips for %d commands", trips, cmds)
	}
	t.Logf("%d turns: %d commands in %d round trips", convs*turns, cmds, trips)
}

// TestTurnScriptsAfterScriptFlush: a Redis that forgot the turn's scripts
// (restarted, or SCRIPT FLUSH) still runs a whole turn: the script is
// loaded again and the turn goes on.
func TestTurnScriptsAfterScriptFlush(t *testing.T) {
	url, _ := redistest.Start(t) // private: SCRIPT FLUSH would hit other tests
	st := openFresh(t, url)
	ctx := context.Background()
	for i := range 3 {
		if err := st.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		s, unlock, err := st.LockLoad(ctx, "k", time.Second)
		if err != nil {
			t.Fatalf("turn %d: LockLoad after SCRIPT FLUSH: %v", i, err)
		}
		if s == nil {
			s = &bot.Session{Key: "k"}
		}
		if i > 0 && s.Step != "step"+strconv.Itoa(i-1) {
			t.Errorf("turn %d: loaded step %q, want step%d", i, s.Step, i-1)
		}
		s.Step = "step" + strconv.Itoa(i)
		if err := st.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveUnlock(ctx, s, nil); err != nil {
			t.Fatalf("turn %d: SaveUnlock after SCRIPT FLUSH: %v", i, err)
		}
		unlock()
	}
}

// TestTurnScriptsGiveUpAtTheContext: with Redis stopped (SIGSTOP: it
// accepts nothing and answers nothing), LockLoad and SaveUnlock return at
// the caller's deadline with its error, not when the pipeline gives up.
func TestTurnScriptsGiveUpAtTheContext(t *testing.T) {
	url, proc := redistest.Start(t)
	st, err := Open(context.Background(), Config{URL: url, Prefix: "giveup:", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, unlock, err := st.LockLoad(context.Background(), "k", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		s = &bot.Session{Key: "k"}
	}
	unlock()
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer proc.Signal(syscall.SIGCONT)
	const wait = 300 * time.Millisecond
	for name, call := range map[string]func(context.Context) error{
		"LockLoad": func(ctx context.Context) error {
			_, _, err := st.LockLoad(ctx, "k", time.Second)
			return err
		},
		"SaveUnlock": func(ctx context.Context) error { return st.SaveUnlock(ctx, s, nil) },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		t0 := time.Now()
		err := call(ctx)
		took := time.Since(t0)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with Redis stopped: %v, want the context's deadline", name, err)
		}
		// The store's own timeout is 5 s: returning well before it means
		// the context was honoured.
		if took > 4*time.Second {
			t.Errorf("%s with Redis stopped took %s, past its %s context", name, took, wait)
		}
	}
}

// TestGivenUpLockLoadsLeaveNoLease: Redis stalls (SIGSTOP) for 3 s while
// turns keep arriving, each LockLoad given up at a 300 ms context. Their
// scripts wait in the turns' pipeline and run once Redis is back, taking
// leases nobody holds: the release of each must come after it, not race
// ahead on another connection and find nothing to release (which left
// about a third of the conversations locked for their lease TTL).
func TestGivenUpLockLoadsLeaveNoLease(t *testing.T) {
	url, proc := redistest.Start(t)
	st := openFresh(t, url)
	bg := context.Background()
	if _, unlock, err := st.LockLoad(bg, "warm", time.Second); err != nil {
		t.Fatal(err)
	} else {
		unlock()
	}
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	const n = 300
	fails := make(chan error, n)
	for i := range n {
		go func() {
			ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
			defer cancel()
			_, unlock, err := st.LockLoad(ctx, "c"+strconv.Itoa(i), 10*time.Second)
			if unlock != nil {
				unlock()
			}
			fails <- err
		}()
		time.Sleep(10 * time.Millisecond)
	}
	failed := 0
	for range n {
		if <-fails != nil {
			failed++
		}
	}
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	held := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		held = 0
		for i := range n {
			if st.rdb.Exists(bg, st.leaseKey("c"+strconv.Itoa(i))).Val() == 1 {
				held++
			}
		}
		if held == 0 {
			break
		}
	}
	t.Logf("%d of %d LockLoads given up during the stall; %d leases held 3 s after Redis came back", failed, n, held)
	if failed == 0 {
		t.Error("no LockLoad failed while Redis was stopped: the test tested nothing")
	}
	if held > 0 {
		t.Errorf("%d conversations locked for their lease TTL by LockLoads their callers gave up on", held)
	}
}
