package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"troubleshooter/adapters/redisstore/redistest"
	"troubleshooter/bot"
	"troubleshooter/bot/storetest"
)

// openFresh opens a store under a prefix no other test uses.
func openFresh(t testing.TB, url string) *Store {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Config{URL: url, Prefix: "tstest:" + hex.EncodeToString(b[:]) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t, st) })
	return st
}

// openReplicas opens two stores over one Redis and one prefix, as two
// replicas of the bot would; the second is closed when the test ends.
func openReplicas(t *testing.T) (a, b *Store) {
	t.Helper()
	a = openFresh(t, redistest.URL(t))
	b, err := Open(context.Background(), a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// cleanup removes the test's keys with a fresh client (the store may be
// closed by then).
func cleanup(t testing.TB, st *Store) {
	c, err := Open(context.Background(), st.cfg)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer c.Close()
	if err := c.DeletePrefix(context.Background()); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

func TestConformance(t *testing.T) {
	url := redistest.URL(t)
	storetest.Run(t, func(t *testing.T) bot.Store { return openFresh(t, url) })
}

func TestTwoReplicasShareSessions(t *testing.T) {
	a, b := openReplicas(t)
	ctx := context.Background()
	s := &bot.Session{Key: "k", Step: "one"}
	if err := a.Save(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(ctx, "k")
	if err != nil || got.Step != "one" || got.Version != 1 {
		t.Fatalf("replica b sees %+v, %v", got, err)
	}
	got.Step = "two"
	if err := b.Save(ctx, got, nil); err != nil {
		t.Fatal(err)
	}
	s.Step = "stale"
	if err := a.Save(ctx, s, nil); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("a stale write from replica a: %v, want ErrConflict", err)
	}
}

func TestSessionsExpireByTTL(t *testing.T) {
	url := redistest.URL(t)
	st := openFresh(t, url)
	st.cfg.SessionTTL = 50 * time.Millisecond
	ctx := context.Background()
	if err := st.Save(ctx, &bot.Session{Key: "short"}, nil); err != nil {
		t.Fatal(err)
	}
	ttl, err := st.rdb.PTTL(ctx, st.sessionKey("short")).Result()
	if err != nil || ttl <= 0 || ttl > 50*time.Millisecond {
		t.Fatalf("TTL %v, %v", ttl, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := st.Load(ctx, "short")
		if errors.Is(err, bot.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session still there after its TTL: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUnreachableRedisFailsFastWithoutLeakingTheURL(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), Config{URL: "redis://user:s3cret@127.0.0.1:1/0", Timeout: 200 * time.Millisecond})
	if err == nil {
		t.Fatal("opened a Redis that is not there")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %s to give up", time.Since(start))
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
	_, err = Open(context.Background(), Config{URL: "http://user:s3cret@host"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL error: %v", err)
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	url := redistest.URL(t)
	st := openFresh(t, url)
	ctx := context.Background()
	if err := st.rdb.HSet(ctx, st.sessionKey("bad"), "v", "1", "d", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, "bad"); err == nil || !strings.Contains(err.Error(), bot.LogKey("bad")) {
		t.Errorf("corrupt record: %v", err)
	}
}

// counterFlow counts messages in the session and records overlap.
type counterFlow struct {
	inFlight, maxInFlight atomic.Int32
}

func (f *counterFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for old := f.maxInFlight.Load(); n > old && !f.maxInFlight.CompareAndSwap(old, n); old = f.maxInFlight.Load() {
	}
	time.Sleep(200 * time.Microsecond) // widen the window an interleaving would need
	s.Guide, s.Step = "g", "count"
	c, _ := strconv.Atoi(s.Answers["count"])
	s.SetAnswer("count", "count", strconv.Itoa(c+1))
	return bot.Turn{Replies: []bot.Reply{{Text: strconv.Itoa(c + 1)}}}, nil
}
func (f *counterFlow) Current(*bot.Session) ([]bot.Reply, error) { return nil, nil }
func (f *counterFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Kind: kind, Ended: at}
}

// TestTwoReplicasOneConversation sends 50 concurrent messages of one
// conversation to two engines over one Redis: the lease keeps their turns
// from interleaving and compare-and-swap loses no update.
func TestTwoReplicasOneConversation(t *testing.T) {
	a, b := openReplicas(t)
	flow := &counterFlow{}
	engines := []*bot.Engine{bot.NewEngine(a, flow, bot.EngineConfig{}, nil), bot.NewEngine(b, flow, bot.EngineConfig{}, nil)}
	addr := bot.Address{Platform: "test", User: "u"}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := engines[i%2].Handle(context.Background(), bot.Message{Address: addr, ID: "ev" + strconv.Itoa(i), Text: "x"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s, err := a.Load(context.Background(), addr.Key())
	if err != nil {
		t.Fatal(err)
	}
	if s.Answers["count"] != "50" {
		t.Errorf("count %s after 50 messages on two replicas", s.Answers["count"])
	}
	if got := flow.maxInFlight.Load(); got != 1 {
		t.Errorf("%d turns of one conversation ran at once across replicas", got)
	}
}

func TestLeaseIsExclusiveAndExpires(t *testing.T) {
	st := openFresh(t, redistest.URL(t))
	ctx := context.Background()
	unlock, err := st.Lock(ctx, "k", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := st.Lock(short, "k", time.Second); err == nil {
		t.Fatal("a held lease was taken twice")
	}
	// Not released: it must expire by itself (a crashed replica).
	start := time.Now()
	unlock2, err := st.Lock(ctx, "k", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("waited %s for an expired lease", waited)
	}
	unlock() // the old holder's late release must not free the new lease
	if ok, _ := st.rdb.Exists(ctx, st.cfg.Prefix+"l:k").Result(); ok != 1 {
		t.Error("a stale holder released someone else's lease")
	}
	unlock2()
	if ok, _ := st.rdb.Exists(ctx, st.cfg.Prefix+"l:k").Result(); ok != 0 {
		t.Error("unlock did not release the lease")
	}
}

// TestOutcomesPagesStayStableUnderInserts reads outcomes page by page
// while older records keep arriving: every record present at the start is
// returned exactly once.
func TestOutcomesPagesStayStableUnderInserts(t *testing.T) {
	st := openFresh(t, redistest.URL(t))
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 3*outcomePage + 17
	for i := range n {
		// Several records share each millisecond, to cross page edges.
		o := bot.Outcome{Key: "k" + strconv.Itoa(i), Kind: bot.OutcomeResolved, Ended: base.Add(time.Duration(i/3) * time.Millisecond)}
		if err := st.Save(ctx, &bot.Session{Key: o.Key}, []bot.Outcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	inserted := 0
	err := st.Outcomes(ctx, base, func(o bot.Outcome) error {
		seen[o.Key]++
		if len(seen)%100 == 0 { // an older record lands mid-read
			inserted++
			old := bot.Outcome{Key: "late" + strconv.Itoa(inserted), Kind: bot.OutcomeStopped, Ended: base}
			return st.Save(ctx, &bot.Session{Key: old.Key}, []bot.Outcome{old})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if c := seen["k"+strconv.Itoa(i)]; c != 1 {
			t.Errorf("record k%d read %d times", i, c)
		}
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("record %s read %d times", k, c)
		}
	}
}

// BenchmarkRedisSave is one conversation's Load, change, Save over
// loopback Redis (two round trips).
func BenchmarkRedisSave(b *testing.B) {
	storetest.BenchSave(b, openFresh(b, redistest.URL(b)))
}

// BenchmarkRedisSaveParallel is about 256 conversations at once.
func BenchmarkRedisSaveParallel(b *testing.B) {
	storetest.BenchSaveParallel(b, openFresh(b, redistest.URL(b)), 128)
}
