package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"troubleshooter/bot"
	"troubleshooter/bot/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return openTemp(t) })
}

var when = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dirs", "bot.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &bot.Session{Key: "k1", Step: "ask", Answers: map[string]string{"a": "1"}, Started: when}
	if err := st.Save(ctx, s, []bot.Outcome{{Key: "old", Kind: bot.OutcomeExpired, Ended: when}}); err != nil {
		t.Fatal(err)
	}
	s.Step = "fix"
	if err := st.Save(ctx, s, []bot.Outcome{{Key: "k1", Kind: bot.OutcomeResolved, Ended: when.Add(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	got, err := st.Load(ctx, "k1")
	if err != nil {
		t.Fatalf("Load after reopen: %v", err)
	}
	if got.Step != "fix" || got.Answers["a"] != "1" || got.Version != 2 || !got.Started.Equal(when) {
		t.Errorf("after reopen got %+v; want Step fix, Answers[a] 1, Version 2, Started %v", got, when)
	}
	var kinds []string
	if err := st.Outcomes(ctx, time.Time{}, func(o bot.Outcome) error {
		kinds = append(kinds, o.Kind)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "expired,resolved" {
		t.Errorf("outcomes after reopen = %q, want [expired resolved]", kinds)
	}
	// The version chain continues across the restart.
	got.Step = "done"
	if err := st.Save(ctx, got, nil); err != nil || got.Version != 3 {
		t.Errorf("Save after reopen = %v, Version %d; want nil, 3", err, got.Version)
	}
	stale := &bot.Session{Key: "k1"}
	if err := st.Save(ctx, stale, nil); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("Save of a new session over a reopened key = %v, want ErrConflict", err)
	}
}

func TestOpenCreatesDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	st, err := Open(filepath.Join(dir, "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o750 != 0 {
		t.Errorf("directory mode %v, want at most 0750", perm)
	}
	if _, err := Open(""); err == nil {
		t.Error(`Open("") = nil error`)
	}
}

func TestSecondOpenFailsWhileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	start := time.Now()
	second, err := Open(path)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("second Open error %v does not match ErrInUse", err)
	}
	want := fmt.Sprintf("store %s is in use by another process (is another troubleshooter running?)", path)
	if err.Error() != want {
		t.Errorf("second Open error = %q, want %q", err, want)
	}
	if d := time.Since(start); d < lockTimeout/2 || d > 5*lockTimeout {
		t.Errorf("second Open gave up after %v, want about %v", d, lockTimeout)
	}
	// The first store still works, and the file opens once it is released.
	if err := st.Save(context.Background(), &bot.Session{Key: "k"}, nil); err != nil {
		t.Errorf("Save on the first store: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

// putRaw writes value under key in bucket directly with bbolt, bypassing
// the store, which must be closed.
func putRaw(t *testing.T, path string, bucket, key, value []byte) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).Put(key, value)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, &bot.Session{Key: "fine"}, []bot.Outcome{{Key: "fine", Ended: when}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	putRaw(t, path, sessionsBucket, []byte("garbage/key"), []byte("\x00\xffnot json{"))
	putRaw(t, path, sessionsBucket, []byte("wrong/key"), []byte(`{"key":"other/key","version":3}`))
	putRaw(t, path, sessionsBucket, []byte("no/key"), []byte(`{}`))
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	for _, key := range []string{"garbage/key", "wrong/key", "no/key"} {
		s, err := st.Load(ctx, key)
		if err == nil || errors.Is(err, bot.ErrNotFound) {
			t.Errorf("Load(%q) of a corrupt record = %+v, %v; want a decode error", key, s, err)
		} else if !strings.Contains(err.Error(), bot.LogKey(key)) || strings.Contains(err.Error(), key) {
			t.Errorf("Load(%q) error %q does not name the key by its log hash (and only so)", key, err)
		}
		if s != nil {
			t.Errorf("Load(%q) returned a session with its error", key)
		}
		// Save cannot compare-and-swap against a corrupt record either.
		err = st.Save(ctx, &bot.Session{Key: key, Version: 3}, nil)
		if err == nil || errors.Is(err, bot.ErrConflict) || !strings.Contains(err.Error(), bot.LogKey(key)) {
			t.Errorf("Save over corrupt %q = %v; want an error naming the key", key, err)
		}
		// Delete clears it, and the key is usable again.
		if err := st.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
		if err := st.Save(ctx, &bot.Session{Key: key}, nil); err != nil {
			t.Errorf("Save after deleting corrupt %q: %v", key, err)
		}
	}
	if _, err := st.Load(ctx, "fine"); err != nil {
		t.Errorf("an intact record next to corrupt ones: %v", err)
	}

	// A corrupt outcome record stops Outcomes with an error naming its key.
	st.Close()
	badKey := []byte("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x09")
	putRaw(t, path, outcomesBucket, badKey, []byte("{not json"))
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { return nil })
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%x", badKey)) {
		t.Errorf("Outcomes over a corrupt record = %v; want an error naming key %x", err, badKey)
	}
}

func TestClosedErrors(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, "k"); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Load after Close = %v, want ErrClosed", err)
	}
	if err := st.Save(ctx, &bot.Session{Key: "k"}, nil); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Save after Close = %v, want ErrClosed", err)
	}
	if err := st.Delete(ctx, "k"); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Delete after Close = %v, want ErrClosed", err)
	}
	if err := st.Outcomes(ctx, time.Time{}, func(bot.Outcome) error { return nil }); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Outcomes after Close = %v, want ErrClosed", err)
	}
	if err := st.Close(); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

// TestCloseDuringSaves closes the store while Saves are queued in a batch:
// each must either succeed or fail with ErrClosed, and nothing may panic.
func TestCloseDuringSaves(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	var wg sync.WaitGroup
	var saved, closed atomic.Int64
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &bot.Session{Key: fmt.Sprint(i)}
			for range 20 {
				err := st.Save(ctx, s, nil)
				switch {
				case err == nil:
					saved.Add(1)
				case errors.Is(err, bot.ErrClosed):
					closed.Add(1)
					return
				default:
					t.Errorf("Save during Close: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	t.Logf("%d saved, %d saw ErrClosed", saved.Load(), closed.Load())
}

// TestOutcomesManyChunks crosses several read-transaction chunks, with a
// since that falls inside one, and a callback that uses the store.
func TestOutcomesManyChunks(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	defer st.Close()
	const n = 3*outcomeChunk + 17
	outs := make([]bot.Outcome, n)
	for i := range outs {
		// Reverse order, and pairs sharing one Ended, to exercise the key.
		outs[i] = bot.Outcome{Key: fmt.Sprint(i), Ended: when.Add(time.Duration(n-i-(i%2)) * time.Millisecond)}
	}
	if err := st.Save(ctx, &bot.Session{Key: "k"}, outs); err != nil {
		t.Fatal(err)
	}
	since := when.Add(100 * time.Millisecond)
	want := 0
	for _, o := range outs {
		if !o.Ended.Before(since) {
			want++
		}
	}
	got := 0
	var last time.Time
	err := st.Outcomes(ctx, since, func(o bot.Outcome) error {
		got++
		if o.Ended.Before(last) || o.Ended.Before(since) {
			return fmt.Errorf("record %s ended %v, after %v (since %v)", o.Key, o.Ended, last, since)
		}
		last = o.Ended
		_, err := st.Load(ctx, "k") // the callback may use the store
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Outcomes yielded %d records, want %d", got, want)
	}
}

// TestOutcomesOutsideKeyRange covers Ended times that share the clamped key
// 0: the since filter must still apply exactly.
func TestOutcomesOutsideKeyRange(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	defer st.Close()
	y := func(year int) time.Time { return time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC) }
	err := st.Save(ctx, &bot.Session{Key: "k"}, []bot.Outcome{
		{Key: "1960", Ended: y(1960)}, {Key: "1965", Ended: y(1965)}, {Key: "2000", Ended: y(2000)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := st.Outcomes(ctx, y(1962), func(o bot.Outcome) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "1965,2000" {
		t.Errorf("Outcomes(since 1962) = %q, want [1965 2000]", keys)
	}
}

func TestTimeKeyOrder(t *testing.T) {
	times := []time.Time{
		{}, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 0), time.Unix(0, 1),
		when, time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		if timeKey(times[i]) < timeKey(times[i-1]) {
			t.Errorf("timeKey(%v) = %d < timeKey(%v) = %d", times[i], timeKey(times[i]), times[i-1], timeKey(times[i-1]))
		}
	}
	if timeKey(when) != uint64(when.UnixNano()) {
		t.Errorf("timeKey(%v) = %d, want its Unix nanoseconds", when, timeKey(when))
	}
}

// BenchmarkBoltSave is one conversation alone: Load, change, durable Save.
// Each Save waits out the batch delay, since nobody else joins its batch.
func BenchmarkBoltSave(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	storetest.BenchSave(b, st)
}

// BenchmarkBoltSaveParallel is about 256 conversations at once, each on its
// own key doing Load, change, durable Save. ns/op is wall time per message
// across all of them, so 1e9/ns_op is durable messages per second.
func BenchmarkBoltSaveParallel(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	storetest.BenchSaveParallel(b, st, 256/runtime.GOMAXPROCS(0))
}

// stepFlow is the smallest real bot.Flow: every message is answered "ok"
// and the conversation stays on one question.
type stepFlow struct{}

func (stepFlow) Respond(s *bot.Session, m bot.Message) (bot.Turn, error) {
	s.Guide, s.GuideVersion, s.Step, s.Done, s.Outcome, s.Offer = "g", "1", "q", false, "", ""
	return bot.Turn{Replies: []bot.Reply{{Text: "ok"}}}, nil
}
func (stepFlow) Current(*bot.Session) ([]bot.Reply, error) { return []bot.Reply{{Text: "q?"}}, nil }
func (stepFlow) Outcome(s *bot.Session, kind string, at time.Time) bot.Outcome {
	return bot.Outcome{Key: s.Key, Guide: s.Guide, Kind: kind, Step: s.Step, Started: s.Started, Ended: at}
}

// noticeLog records what the sweeper sends.
type noticeLog struct {
	mu   sync.Mutex
	sent []string
}

func (n *noticeLog) Send(_ context.Context, to bot.Address, replies []bot.Reply) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range replies {
		n.sent = append(n.sent, to.User+": "+r.Text)
	}
	return nil
}

// TestTimersSurviveReopen: reminders and expiries are derived from the
// file, so a process that restarts (the store closed and reopened) sends
// the reminder it owes, once, and later closes the conversation.
func TestTimersSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cfg := bot.EngineConfig{NudgeAfter: 10 * time.Minute, IdleTimeout: time.Hour}
	ctx := context.Background()
	person := bot.Address{Platform: "test", Channel: "c", User: "dana"}

	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := bot.NewEngine(st, stepFlow{}, cfg, nil)
	e.SetClock(clock)
	if _, err := e.Handle(ctx, bot.Message{Address: person, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // the process stops
		t.Fatal(err)
	}

	now = now.Add(15 * time.Minute)
	sent := &noticeLog{}
	restart := func() (*Store, *bot.Engine) {
		st, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		e := bot.NewEngine(st, stepFlow{}, cfg, nil)
		e.SetClock(clock)
		e.SetSender("test", sent)
		return st, e
	}
	st, e = restart()
	for range 2 {
		if _, err := e.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	now = now.Add(time.Hour)
	st, e = restart()
	defer st.Close()
	stats, err := e.Sweep(ctx)
	if err != nil || stats.Expired != 1 {
		t.Fatalf("sweep after the idle timeout = %+v, %v; want one expiry", stats, err)
	}
	want := []string{"dana: " + bot.NudgeNotice, "dana: " + fmt.Sprintf(bot.ExpiredNoticeFormat, "1 hour")}
	if fmt.Sprint(sent.sent) != fmt.Sprint(want) {
		t.Errorf("sent %q, want %q", sent.sent, want)
	}
	var kinds []string
	if err := st.Outcomes(ctx, time.Time{}, func(o bot.Outcome) error { kinds = append(kinds, o.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(kinds) != "[expired]" {
		t.Errorf("outcomes %v, want one expired", kinds)
	}
}

// TestDeleteClearsTheDueEntryOfACorruptRecord: a record that cannot be
// decoded still has its due index entry removed when it is deleted (else
// the sweeper would list it forever). Found in review.
func TestDeleteClearsTheDueEntryOfACorruptRecord(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	defer st.Close()
	due := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.Save(ctx, &bot.Session{Key: "k", Started: due, Updated: due, Due: due}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(sessionsBucket).Put([]byte("k"), []byte("{corrupt")) }); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := st.Due(ctx, due.Add(time.Hour), func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("Due still lists %d entry for a deleted key after Delete: stale forever", n)
	}
}

// TestOpenIndexesSessionsFromBeforeTimers: a file written before the due
// index existed gets its conversations in progress indexed on Open, so the
// sweeper reminds or closes them; finished ones stay out.
func TestOpenIndexesSessionsFromBeforeTimers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket(sessionsBucket)
		if err != nil {
			return err
		}
		for key, rec := range map[string]string{
			"live":    `{"key":"live","guide":"g","step":"q","started":"2026-02-01T07:00:00Z","updated":"2026-02-01T08:00:00Z","version":3}`,
			"done":    `{"key":"done","guide":"g","step":"end","done":true,"outcome":"resolved","started":"2026-02-01T07:00:00Z","updated":"2026-02-01T08:00:00Z","version":5}`,
			"corrupt": `{"key":`,
		} {
			if err := b.Put([]byte(key), []byte(rec)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var due []string
	if err := st.Due(context.Background(), updated.Add(time.Minute), func(k string) error { due = append(due, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(due) != "[live]" {
		t.Errorf("due after opening an old file = %v, want [live]", due)
	}
	s, err := st.Load(context.Background(), "live")
	if err != nil || !s.Due.Equal(updated) || s.Version != 3 {
		t.Errorf("migrated session = %+v, %v; want due at its last update, version kept", s, err)
	}
	// Saving it moves the index entry, leaving none behind.
	s.Due = time.Time{}
	if err := st.Save(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	due = nil
	if err := st.Due(context.Background(), updated.Add(time.Hour), func(k string) error { due = append(due, k); return nil }); err != nil || len(due) != 0 {
		t.Errorf("due after clearing = %v, %v", due, err)
	}
}
